//! A shard's expiry schedule: a binary min-heap of (deadline, slot) whose entries know
//! their heap position, so a delete or replace removes its deadline in O(log n) and the
//! sweeper's work is proportional to what has expired, never to the whole shard.

pub const NOT_SCHEDULED: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub at_ms: u64,
    pub slot: u32,
}

#[derive(Default)]
pub struct ExpiryHeap {
    heap: Vec<Deadline>,
}

/// `moved(slot, pos)` is told every time a slot's position in the heap changes.
impl ExpiryHeap {
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn peek(&self) -> Option<Deadline> {
        self.heap.first().copied()
    }

    pub fn get(&self, pos: u32) -> Deadline {
        self.heap[pos as usize]
    }

    pub fn push(&mut self, at_ms: u64, slot: u32, moved: &mut impl FnMut(u32, u32)) {
        self.heap.push(Deadline { at_ms, slot });
        let last = self.heap.len() - 1;
        moved(slot, last as u32);
        self.sift_up(last, moved);
    }

    pub fn update(&mut self, pos: u32, at_ms: u64, moved: &mut impl FnMut(u32, u32)) {
        let pos = pos as usize;
        let old = self.heap[pos].at_ms;
        self.heap[pos].at_ms = at_ms;
        if at_ms < old {
            self.sift_up(pos, moved);
        } else {
            self.sift_down(pos, moved);
        }
    }

    pub fn remove(&mut self, pos: u32, moved: &mut impl FnMut(u32, u32)) {
        let pos = pos as usize;
        let last = self.heap.len() - 1;
        self.heap.swap(pos, last);
        self.heap.pop();
        if pos < self.heap.len() {
            moved(self.heap[pos].slot, pos as u32);
            self.sift_down(pos, moved);
            self.sift_up(pos, moved);
        }
    }

    fn sift_up(&mut self, mut pos: usize, moved: &mut impl FnMut(u32, u32)) {
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if self.heap[parent].at_ms <= self.heap[pos].at_ms {
                break;
            }
            self.heap.swap(parent, pos);
            moved(self.heap[pos].slot, pos as u32);
            moved(self.heap[parent].slot, parent as u32);
            pos = parent;
        }
    }

    fn sift_down(&mut self, mut pos: usize, moved: &mut impl FnMut(u32, u32)) {
        loop {
            let left = pos * 2 + 1;
            if left >= self.heap.len() {
                break;
            }
            let right = left + 1;
            let child = if right < self.heap.len() && self.heap[right].at_ms < self.heap[left].at_ms {
                right
            } else {
                left
            };
            if self.heap[pos].at_ms <= self.heap[child].at_ms {
                break;
            }
            self.heap.swap(pos, child);
            moved(self.heap[pos].slot, pos as u32);
            moved(self.heap[child].slot, child as u32);
            pos = child;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, Deadline)> + '_ {
        self.heap.iter().enumerate().map(|(i, d)| (i as u32, *d))
    }

    pub fn validate(&self) -> Result<(), String> {
        for i in 1..self.heap.len() {
            if self.heap[(i - 1) / 2].at_ms > self.heap[i].at_ms {
                return Err(format!("expiry heap order broken at {i}"));
            }
        }
        Ok(())
    }
}
