//! Runs: `getRun` and `putRun`, which execute many consecutive gets (or plain puts) a
//! daemon door received in one read, in one call. Keys and values are not strings: each is a
//! span of bytes of `source` (the received bytes), so the door makes no key string and no
//! Buffer per value. A get's value is copied straight into the caller's `target`, from which
//! the door assembles its replies.
//!
//! A run stops early, returning how many requests it executed, wherever the door has
//! something to do before the next request (see each function); the door then calls again
//! for the rest. Each request is executed once, as the single call (`get`, `set` without
//! options) would, so stats and removals are exactly theirs.

use super::reads::{READ_IN_OVERFLOW, READ_MISS, READ_MISS_EXPIRED};
use super::Args;
use crate::args::*;
use crate::env::{Env, JsError, JsResult};
use crate::handle::Handle;
use crate::sys::*;
use localcached_core::constants::MAX_BATCH_KEYS;
use localcached_core::{Lookup, StoreError};

/// Spans per get: key start and end.
const GET_SPAN: usize = 2;
/// Spans per put: key start and end, value start and end.
const PUT_SPAN: usize = 4;

/// How a run ended before its last request.
enum Stop {
    /// Request `i` failed, doing nothing: its error is reported through `failure`.
    Failed(usize, StoreError),
    /// Request `i` is left to the single call: its key has bytes outside ASCII, and an error
    /// about it must name the key as the single call reads it from a JS string.
    Single(usize),
}

/// The `count` spans of `spans` (`width` numbers each), checked against `source`.
fn read_spans<'a>(spans: &'a [i32], count: usize, width: usize, source_len: usize) -> JsResult<&'a [i32]> {
    let spans = spans.get(..count * width).ok_or_else(|| JsError::bad_argument(format!("spans holds fewer than count × {width} numbers")))?;
    for pair in spans.chunks_exact(2) {
        let (start, end) = (pair[0], pair[1]);
        if start < 0 || end < start || end as usize > source_len {
            return Err(JsError::bad_argument(format!("span {start}..{end} is not within source (0..{source_len})")));
        }
    }
    Ok(spans)
}

fn span<'a>(source: &'a [u8], spans: &[i32], at: usize) -> &'a [u8] {
    &source[spans[at] as usize..spans[at + 1] as usize]
}

/// Reports a stop: `failure[0]` and `failure[1]` get a failed request's code and message
/// (setting elements can run JS, so this runs after every borrow has ended). Returns the
/// number of requests executed.
fn report(env: Env, failure: napi_value, stop: Option<Stop>, count: usize) -> JsResult<usize> {
    match stop {
        None => Ok(count),
        Some(Stop::Single(i)) => Ok(i),
        Some(Stop::Failed(i, err)) => {
            let err = JsError::from(err);
            if let JsError::Throw { code, message } = &err {
                env.set_element(failure, 0, env.string(code.as_bytes())?)?;
                env.set_element(failure, 1, env.string(message.as_bytes())?)?;
            }
            Ok(i)
        }
    }
}

/// The stop for request `i` whose store call failed on `key`.
fn stop_for(i: usize, key: &[u8], err: StoreError) -> Stop {
    if key.is_ascii() { Stop::Failed(i, err) } else { Stop::Single(i) }
}

fn check_failure(env: Env, failure: napi_value) -> JsResult<()> {
    if env.array_length(failure)?.is_none() {
        return Err(JsError::bad_argument("failure must be an array"));
    }
    Ok(())
}

/// `getRun(source, spans, count, target, results, overflow, failure, stopAtMiss?)`: gets the keys at
/// `source[spans[2i]..spans[2i+1]]` in order. `results[i]` is the value's length n ≥ 0 when
/// the value was copied into `target` (values follow each other from `target[0]`, so each
/// starts where the previous ended), `READ_MISS`, `READ_MISS_EXPIRED` (its removal is
/// queued), or `READ_IN_OVERFLOW` when it did not fit in what is left of `target` and is
/// in `overflow[i]` as its own Buffer. Returns how many keys were read: all of them, or fewer
/// when the run stopped after a value in overflow (so that one call writes at most `target`
/// plus one value, and the door can check its back-pressure), before a key that broke the
/// key rule (its code and message are in `failure[0..2]`, and it counted nothing), before a
/// non-ASCII key left to `get` (`failure` untouched), or, with `stopAtMiss`, after a miss
/// (which the door asks a second tier about before the next key is read).
pub fn get_run(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let count = read_integer(env, args[2], "count", 0, MAX_BATCH_KEYS as u64)? as usize;
    check_failure(env, args[6])?;
    // Checked before any get: a bad `overflow` found after the run would throw with hits
    // counted and expired removals queued but not delivered.
    if env.array_length(args[5])?.is_none() {
        return Err(JsError::bad_argument("overflow must be an array"));
    }
    let stop_at_miss = match env.type_of(args[7])? {
        NAPI_UNDEFINED => false,
        _ => env.bool(args[7])?.ok_or_else(|| JsError::bad_argument("stopAtMiss must be true or false"))?,
    };
    let mut overflow: Option<(u32, Vec<u8>)> = None;
    let stop = {
        let source = env.uint8_array_parts(args[0])?.ok_or_else(|| JsError::bad_argument("source must be a Buffer or Uint8Array"))?;
        let spans = env.int32_array_parts(args[1])?.ok_or_else(|| JsError::bad_argument("spans must be an Int32Array"))?;
        let target = env.uint8_array_parts(args[3])?.ok_or_else(|| JsError::bad_argument("target must be a Buffer or Uint8Array"))?;
        let results = env.int32_array_parts(args[4])?.ok_or_else(|| JsError::bad_argument("results must be an Int32Array"))?;
        let (source, spans, target, results) = (Region::bytes(source), Region::words(spans), Region::bytes(target), Region::words(results));
        if target.overlaps(&source) || target.overlaps(&spans) || target.overlaps(&results) {
            return Err(JsError::bad_argument("target must not share bytes with source, spans or results"));
        }
        if results.overlaps(&source) || results.overlaps(&spans) {
            return Err(JsError::bad_argument("results must not share bytes with source or spans"));
        }
        // SAFETY: from here to the end of this block nothing runs JS (store reads and copies
        // only), so no buffer can be detached; the two regions written (`target`, `results`)
        // were just checked to share no byte with each other or with those read.
        let (source, spans, target, results) = unsafe { (source.as_bytes(), spans.as_words(), target.as_bytes_mut(), results.as_words_mut()) };
        if results.len() < count {
            return Err(JsError::bad_argument("results is shorter than count"));
        }
        let spans = read_spans(spans, count, GET_SPAN, source.len())?;
        let mut cursor = 0usize;
        let mut stop = None;
        for i in 0..count {
            let key = span(source, spans, i * GET_SPAN);
            let room = &mut target[cursor..];
            let lookup = handle.store.get_with(key, |value| match room.get_mut(..value.len()) {
                Some(dest) => {
                    dest.copy_from_slice(value);
                    Ok(value.len())
                }
                None => Err(value.to_vec()),
            });
            results[i] = match lookup {
                Ok(Lookup::Hit(Ok(len))) => {
                    cursor += len;
                    // Values are at most MAX_VALUE_BYTES_LIMIT (1 GiB): every length is an int32.
                    len as i32
                }
                Ok(Lookup::Hit(Err(value))) => {
                    results[i] = READ_IN_OVERFLOW;
                    overflow = Some((i as u32, value));
                    if i + 1 < count {
                        stop = Some(Stop::Single(i + 1));
                    }
                    break;
                }
                Ok(lookup @ (Lookup::Miss | Lookup::Expired)) => {
                    let code = if matches!(lookup, Lookup::Miss) { READ_MISS } else { READ_MISS_EXPIRED };
                    if stop_at_miss {
                        results[i] = code;
                        if i + 1 < count {
                            stop = Some(Stop::Single(i + 1));
                        }
                        break;
                    }
                    code
                }
                Err(err) => {
                    stop = Some(stop_for(i, key, err));
                    break;
                }
            };
        }
        stop
    };
    if let Some((i, value)) = overflow {
        env.set_element(args[5], i, env.buffer_copy(&value)?)?;
    }
    env.double(report(env, args[6], stop, count)? as f64)
}

/// `putRun(source, spans, count, failure)`: stores, in order, the value at
/// `source[spans[4i+2]..spans[4i+3]]` under the key at `source[spans[4i]..spans[4i+1]]`, as
/// `set(key, value)` without options does. Returns `2 × done + pending`: `done` puts were
/// stored, and `pending` is 1 when the last of them left removals to be drained (evictions,
/// an expired entry it replaced): the run stops there so that the door delivers them between
/// that put and the next, as it would after `set`. It also stops before a put that failed,
/// storing nothing (its code and message are in `failure[0..2]`), and before a non-ASCII key
/// left to `set` (`failure` untouched).
pub fn put_run(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let count = read_integer(env, args[2], "count", 0, MAX_BATCH_KEYS as u64)? as usize;
    check_failure(env, args[3])?;
    let (stop, pending) = {
        let source = env.uint8_array_parts(args[0])?.ok_or_else(|| JsError::bad_argument("source must be a Buffer or Uint8Array"))?;
        let spans = env.int32_array_parts(args[1])?.ok_or_else(|| JsError::bad_argument("spans must be an Int32Array"))?;
        // SAFETY: from here to the end of this block nothing runs JS (store writes only), so
        // no buffer can be detached; both are only read.
        let (source, spans) = unsafe { (Region::bytes(source).as_bytes(), Region::words(spans).as_words()) };
        let spans = read_spans(spans, count, PUT_SPAN, source.len())?;
        let mut stop = None;
        let mut pending = false;
        for i in 0..count {
            let key = span(source, spans, i * PUT_SPAN);
            let value = span(source, spans, i * PUT_SPAN + 2);
            if let Err(err) = handle.store.set_versioned(key, value, None, None) {
                stop = Some(stop_for(i, key, err));
                break;
            }
            if handle.sink.pending() {
                pending = true;
                if i + 1 < count {
                    stop = Some(Stop::Single(i + 1));
                }
                break;
            }
        }
        (stop, pending)
    };
    let done = report(env, args[3], stop, count)?;
    env.double((done * 2 + usize::from(pending)) as f64)
}

/// Where a typed array's elements lie, read before any of them is borrowed.
struct Region {
    data: *mut u8,
    bytes: usize,
}

impl Region {
    fn bytes((data, len): (*mut u8, usize)) -> Region {
        Region { data, bytes: len }
    }

    fn words((data, len): (*mut i32, usize)) -> Region {
        Region { data: data.cast::<u8>(), bytes: len * 4 }
    }

    /// Whether the two share any byte (empty regions share none).
    fn overlaps(&self, other: &Region) -> bool {
        let (a, b) = (self.data as usize, other.data as usize);
        self.bytes != 0 && other.bytes != 0 && a < b + other.bytes && b < a + self.bytes
    }

    /// # Safety
    /// The array is attached for as long as the slice is used (no JS runs meanwhile), and
    /// nothing writes its bytes meanwhile.
    unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
        if self.bytes == 0 || self.data.is_null() {
            return &[];
        }
        // SAFETY: N-API reported `bytes` bytes at `data`; the caller keeps them alive and unwritten.
        unsafe { std::slice::from_raw_parts(self.data, self.bytes) }
    }

    /// # Safety
    /// As `as_bytes`, and the region was an Int32Array's (4-byte aligned, whole elements).
    unsafe fn as_words<'a>(&self) -> &'a [i32] {
        if self.bytes == 0 || self.data.is_null() {
            return &[];
        }
        // SAFETY: an Int32Array's data is 4-byte aligned and holds `bytes / 4` elements; the
        // caller keeps them alive and unwritten.
        unsafe { std::slice::from_raw_parts(self.data.cast::<i32>(), self.bytes / 4) }
    }

    /// # Safety
    /// As `as_bytes`, and no other slice of these bytes is alive while this one is.
    unsafe fn as_bytes_mut<'a>(&self) -> &'a mut [u8] {
        if self.bytes == 0 || self.data.is_null() {
            return &mut [];
        }
        // SAFETY: as `as_bytes`; the caller holds no other slice of these bytes.
        unsafe { std::slice::from_raw_parts_mut(self.data, self.bytes) }
    }

    /// # Safety
    /// As `as_words`, and no other slice of these bytes is alive while this one is.
    unsafe fn as_words_mut<'a>(&self) -> &'a mut [i32] {
        if self.bytes == 0 || self.data.is_null() {
            return &mut [];
        }
        // SAFETY: as `as_words`; the caller holds no other slice of these bytes.
        unsafe { std::slice::from_raw_parts_mut(self.data.cast::<i32>(), self.bytes / 4) }
    }
}
