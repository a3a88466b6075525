//! A shard's index of entries by table (`svc:table`), and its per-service counters. Scoped
//! invalidation walks one table's entries (work proportional to what matches, never to the
//! store), per-service stats add up tables, and per-service caps find a service's entries.
//! The entries of a group are linked through the entries themselves (see `shard.rs`).

use crate::constants::{GROUP_OVERHEAD_BYTES, MAX_TRACKED_SERVICES};
use std::collections::HashMap;

/// The group of a free slab slot. Below 2^31: an entry keeps its SIEVE visited bit above
/// its group id (`shard/entry.rs`).
pub const NO_GROUP: u32 = u32::MAX >> 1;

/// The name under which services past MAX_TRACKED_SERVICES are counted together.
pub const OTHER_SERVICES: &[u8] = b"(other)";

pub struct Group {
    /// `svc:table`.
    pub name: Box<[u8]>,
    pub svc_len: usize,
    /// The service's counters in `Groups::services`.
    pub service: u32,
    /// Most recently stored.
    pub head: u32,
    pub tail: u32,
    pub len: u32,
    /// Bytes charged for the group's entries (not the group itself).
    pub bytes: u64,
    /// The service's byte cap (an index into the store's caps), if it has one. Its entries
    /// are also on the service's recency list (`shard/cap_list.rs`), so the cap evicts its
    /// least recently used entry.
    pub cap: Option<u32>,
}

impl Group {
    pub fn svc(&self) -> &[u8] {
        &self.name[..self.svc_len]
    }

    /// What the group itself is charged against the budget while it has entries.
    pub fn charge(&self) -> u64 {
        GROUP_OVERHEAD_BYTES + self.name.len() as u64
    }
}

#[derive(Default, Clone)]
pub struct ServiceCounters {
    pub name: Box<[u8]>,
    pub hits: u64,
    pub misses: u64,
}

#[derive(Default)]
pub struct Groups {
    groups: Vec<Option<Group>>,
    free: Vec<u32>,
    by_name: HashMap<Box<[u8]>, u32>,
    /// Never shrinks (counters are cumulative) and is bounded by MAX_TRACKED_SERVICES + 1,
    /// so it is kept outside the byte budget.
    services: Vec<ServiceCounters>,
    service_ids: HashMap<Box<[u8]>, u32>,
}

impl Groups {
    pub fn get(&self, id: u32) -> &Group {
        self.groups[id as usize].as_ref().expect("live group id")
    }

    pub fn get_mut(&mut self, id: u32) -> &mut Group {
        self.groups[id as usize].as_mut().expect("live group id")
    }

    /// The group for `name` (`svc:table`, with the svc `svc_len` bytes long), created empty
    /// if needed; returns its id and whether it was created (and so must be charged).
    pub fn find_or_create(&mut self, name: &[u8], svc_len: usize, nil: u32, cap: Option<u32>) -> (u32, bool) {
        if let Some(&id) = self.by_name.get(name) {
            return (id, false);
        }
        let service = self.service_id(&name[..svc_len]);
        let group = Group { name: name.into(), svc_len, service, head: nil, tail: nil, len: 0, bytes: 0, cap };
        let id = match self.free.pop() {
            Some(id) => {
                self.groups[id as usize] = Some(group);
                id
            }
            None => {
                self.groups.push(Some(group));
                (self.groups.len() - 1) as u32
            }
        };
        self.by_name.insert(name.into(), id);
        (id, true)
    }

    /// Drops an empty group; returns what it was charged.
    pub fn release(&mut self, id: u32) -> u64 {
        let group = self.groups[id as usize].take().expect("live group id");
        debug_assert_eq!(group.len, 0);
        self.by_name.remove(&group.name);
        self.free.push(id);
        group.charge()
    }

    pub fn live(&self) -> impl Iterator<Item = (u32, &Group)> {
        self.groups.iter().enumerate().filter_map(|(i, g)| g.as_ref().map(|g| (i as u32, g)))
    }

    pub fn service_id(&mut self, svc: &[u8]) -> u32 {
        if let Some(&id) = self.service_ids.get(svc) {
            return id;
        }
        let name: &[u8] = if self.services.len() < MAX_TRACKED_SERVICES { svc } else { OTHER_SERVICES };
        if let Some(&id) = self.service_ids.get(name) {
            return id;
        }
        self.services.push(ServiceCounters { name: name.into(), hits: 0, misses: 0 });
        let id = (self.services.len() - 1) as u32;
        self.service_ids.insert(name.into(), id);
        id
    }

    pub fn service_mut(&mut self, id: u32) -> &mut ServiceCounters {
        &mut self.services[id as usize]
    }

    pub fn services(&self) -> &[ServiceCounters] {
        &self.services
    }

    /// Forgets every group (the shard is being emptied); service counters stay.
    pub fn clear_groups(&mut self) {
        self.groups = Vec::new();
        self.free = Vec::new();
        self.by_name = HashMap::new();
    }

    pub fn validate_ids(&self) -> Result<(), String> {
        for (name, &id) in &self.by_name {
            match self.groups.get(id as usize).and_then(|g| g.as_ref()) {
                Some(g) if &g.name == name => {}
                _ => return Err(format!("group map entry {} is stale", String::from_utf8_lossy(name))),
            }
        }
        if self.by_name.len() != self.groups.iter().filter(|g| g.is_some()).count() {
            return Err("group map and group table disagree".into());
        }
        Ok(())
    }
}
