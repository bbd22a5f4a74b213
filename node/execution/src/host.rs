//! The host side of ABI v1: the state of one call and the functions a contract
//! imports. Every host function charges fuel **before** it does its work, by
//! the bytes it touches, so no contract gets host work for free.
//!
//! `epcis_facts` runs part of `filiera-epcis` (validation, CBV 2.0 hash, the
//! lot action) inside consensus: its answers for given bytes are part of the
//! protocol, pinned by the golden vectors of that crate's tests, and a change
//! to them needs a new host function, never an edit of this one.

use crate::limits::{
    EPCIS_FACTS_BYTE_FUEL, EVENT_DATA_BYTES_MAX, EVENTS_PER_CALL_MAX, HOST_BYTE_FUEL,
    HOST_CALL_FUEL, RETURN_BYTES_MAX,
};
use crate::outcome::FailureCode;
use filiera_contract_api::lots::{EPCIS_EVENT_BYTES_MAX, EpcisFacts};
use filiera_types::receipt::Event;
use filiera_types::state::{STATE_KEY_BYTES_MAX, STATE_VALUE_BYTES_MAX};
use filiera_types::{ContractId, Hash, PublicKey};
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::{Caller, Extern, Linker, Memory, ResourceLimiter};

pub use filiera_types::state::{KeyValue, StateReader, StateUnreadable};

/// What a call knows about its context.
#[derive(Clone, Debug)]
pub struct CallContext {
    /// The contract called.
    pub contract: ContractId,
    /// The transaction's sender.
    pub caller: PublicKey,
    /// The transaction id.
    pub tx_hash: Hash,
    /// The block height.
    pub height: u64,
    /// The block time, ms since the epoch.
    pub time_ms: u64,
    /// The chain's EPCIS event limit at the block's height, in bytes (at
    /// most [`EPCIS_EVENT_BYTES_MAX`], the ceiling the contracts check too).
    pub epcis_event_bytes_max: u64,
}

/// Why a host function stopped the call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct HostTrap {
    /// The stable code.
    pub code: FailureCode,
    /// The message for the receipt.
    pub message: String,
}

fn trap(code: FailureCode, message: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap {
        code,
        message: message.into(),
    })
}

/// The state of one call, owned by the wasmtime store.
pub struct HostState {
    pub(crate) state: Arc<dyn StateReader>,
    pub(crate) context: CallContext,
    pub(crate) input: Vec<u8>,
    pub(crate) register: Vec<u8>,
    pub(crate) writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    pub(crate) events: Vec<Event>,
    pub(crate) return_data: Vec<u8>,
    pub(crate) memory_pages_max: usize,
    /// 64 KiB pages grown during the call, charged as fuel when it ends.
    pub(crate) pages_grown: u64,
}

impl HostState {
    /// The storage prefix of a contract: its writes can only land below it.
    pub fn contract_prefix(contract: &ContractId) -> Vec<u8> {
        let mut p = b"c/".to_vec();
        p.extend_from_slice(contract.as_str().as_bytes());
        p.push(b'/');
        p
    }

    fn full_key(&self, key: &[u8]) -> Vec<u8> {
        let mut k = Self::contract_prefix(&self.context.contract);
        k.extend_from_slice(key);
        k
    }

    /// Reads a key, this call's own writes first.
    fn read(&self, full_key: &[u8]) -> Result<Option<Vec<u8>>, StateUnreadable> {
        match self.writes.get(full_key) {
            Some(v) => Ok(v.clone()),
            None => self.state.get(full_key),
        }
    }
}

impl ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        const PAGE: usize = 64 * 1024;
        if desired > self.memory_pages_max * PAGE {
            return Ok(false);
        }
        self.pages_grown += desired.saturating_sub(current).div_ceil(PAGE) as u64;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= crate::limits::TABLE_ELEMENTS_MAX as usize)
    }
}

/// Charges `HOST_CALL_FUEL` plus `HOST_BYTE_FUEL` per byte, before the work.
fn charge(caller: &mut Caller<'_, HostState>, bytes: usize) -> wasmtime::Result<()> {
    burn(
        caller,
        HOST_CALL_FUEL.saturating_add(HOST_BYTE_FUEL.saturating_mul(bytes as u64)),
    )
}

/// Takes `cost` fuel, or all that is left and stops the call.
fn burn(caller: &mut Caller<'_, HostState>, cost: u64) -> wasmtime::Result<()> {
    let fuel = caller.get_fuel()?;
    if fuel < cost {
        caller.set_fuel(0)?;
        return Err(trap(FailureCode::OutOfFuel, "out of fuel in a host call"));
    }
    caller.set_fuel(fuel - cost)
}

fn memory(caller: &mut Caller<'_, HostState>) -> wasmtime::Result<Memory> {
    match caller.get_export(crate::abi::MEMORY_EXPORT) {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(trap(FailureCode::Trap, "contract has no memory export")),
    }
}

fn len_of(len: i32, max: usize, what: &str) -> wasmtime::Result<usize> {
    let len = usize::try_from(len)
        .map_err(|_| trap(FailureCode::HostLimit, format!("negative {what} length")))?;
    if len > max {
        return Err(trap(
            FailureCode::HostLimit,
            format!("{what} of {len} bytes exceeds {max}"),
        ));
    }
    Ok(len)
}

/// Copies `len` bytes out of the contract's memory (after charging for them).
fn read_bytes(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
    max: usize,
    what: &str,
) -> wasmtime::Result<Vec<u8>> {
    let len = len_of(len, max, what)?;
    charge(caller, len)?;
    let mem = memory(caller)?;
    let start = u32::try_from(ptr)
        .map_err(|_| trap(FailureCode::HostLimit, format!("negative {what} pointer")))?
        as usize;
    let mut out = vec![0u8; len];
    mem.read(&*caller, start, &mut out)
        .map_err(|_| trap(FailureCode::HostLimit, format!("{what} out of bounds")))?;
    Ok(out)
}

/// Copies bytes into the contract's memory (after charging for them).
fn write_bytes(caller: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> wasmtime::Result<()> {
    charge(caller, bytes.len())?;
    let mem = memory(caller)?;
    let start =
        u32::try_from(ptr).map_err(|_| trap(FailureCode::HostLimit, "negative pointer"))? as usize;
    mem.write(&mut *caller, start, bytes)
        .map_err(|_| trap(FailureCode::HostLimit, "write out of bounds"))
}

/// Puts bytes in the register and returns their length.
fn load_register(caller: &mut Caller<'_, HostState>, bytes: Vec<u8>) -> wasmtime::Result<i64> {
    charge(caller, bytes.len())?;
    let len = bytes.len() as i64;
    caller.data_mut().register = bytes;
    Ok(len)
}

const MODULE: &str = crate::abi::HOST_MODULE;

/// How `epcis_facts` answers for an event whose hashing panicked.
const UNHASHABLE: filiera_epcis::StoredEventRefusal = filiera_epcis::StoredEventRefusal::Invalid;

/// Registers every host function of ABI v1.
pub fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "input_len",
        |mut c: Caller<'_, HostState>| -> wasmtime::Result<i32> {
            charge(&mut c, 0)?;
            Ok(c.data().input.len() as i32)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "input_read",
        |mut c: Caller<'_, HostState>, ptr: i32| -> wasmtime::Result<()> {
            let input = c.data().input.clone();
            write_bytes(&mut c, ptr, &input)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "register_read",
        |mut c: Caller<'_, HostState>, ptr: i32| -> wasmtime::Result<()> {
            let reg = std::mem::take(&mut c.data_mut().register);
            write_bytes(&mut c, ptr, &reg)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "storage_read",
        |mut c: Caller<'_, HostState>, kp: i32, kl: i32| -> wasmtime::Result<i64> {
            let key = read_bytes(&mut c, kp, kl, STATE_KEY_BYTES_MAX / 2, "key")?;
            let full = c.data().full_key(&key);
            match c.data().read(&full)? {
                Some(v) => load_register(&mut c, v),
                None => Ok(-1),
            }
        },
    )?;
    linker.func_wrap(
        MODULE,
        "storage_write",
        |mut c: Caller<'_, HostState>,
         kp: i32,
         kl: i32,
         vp: i32,
         vl: i32|
         -> wasmtime::Result<()> {
            let key = read_bytes(&mut c, kp, kl, STATE_KEY_BYTES_MAX / 2, "key")?;
            let value = read_bytes(&mut c, vp, vl, STATE_VALUE_BYTES_MAX, "value")?;
            let full = c.data().full_key(&key);
            c.data_mut().writes.insert(full, Some(value));
            Ok(())
        },
    )?;
    linker.func_wrap(
        MODULE,
        "storage_delete",
        |mut c: Caller<'_, HostState>, kp: i32, kl: i32| -> wasmtime::Result<()> {
            let key = read_bytes(&mut c, kp, kl, STATE_KEY_BYTES_MAX / 2, "key")?;
            let full = c.data().full_key(&key);
            c.data_mut().writes.insert(full, None);
            Ok(())
        },
    )?;
    linker.func_wrap(
        MODULE,
        "storage_next",
        |mut c: Caller<'_, HostState>,
         pp: i32,
         pl: i32,
         ap: i32,
         al: i32|
         -> wasmtime::Result<i64> {
            let prefix = read_bytes(&mut c, pp, pl, STATE_KEY_BYTES_MAX / 2, "prefix")?;
            let after = read_bytes(&mut c, ap, al, STATE_KEY_BYTES_MAX / 2, "key")?;
            let base = HostState::contract_prefix(&c.data().context.contract);
            let (full_prefix, full_after) = (c.data().full_key(&prefix), c.data().full_key(&after));
            match next_key_over(
                &*c.data().state,
                &c.data().writes,
                &full_prefix,
                &full_after,
            )? {
                Some(key) => load_register(&mut c, key[base.len()..].to_vec()),
                None => Ok(-1),
            }
        },
    )?;
    linker.func_wrap(
        MODULE,
        "contract_read",
        |mut c: Caller<'_, HostState>,
         cp: i32,
         cl: i32,
         kp: i32,
         kl: i32|
         -> wasmtime::Result<i64> {
            let name = read_bytes(
                &mut c,
                cp,
                cl,
                filiera_types::limits::CONTRACT_ID_BYTES_MAX,
                "contract id",
            )?;
            let key = read_bytes(&mut c, kp, kl, STATE_KEY_BYTES_MAX / 2, "key")?;
            let contract = std::str::from_utf8(&name)
                .ok()
                .and_then(|s| ContractId::new(s).ok())
                .ok_or_else(|| trap(FailureCode::HostLimit, "contract_read: not a contract id"))?;
            // Another contract's storage is readable only under its public namespace.
            let mut full = HostState::contract_prefix(&contract);
            full.extend_from_slice(b"pub/");
            full.extend_from_slice(&key);
            match c.data().state.get(&full)? {
                Some(v) => load_register(&mut c, v),
                None => Ok(-1),
            }
        },
    )?;
    linker.func_wrap(
        MODULE,
        "caller",
        |mut c: Caller<'_, HostState>, ptr: i32| -> wasmtime::Result<()> {
            let key = c.data().context.caller.0;
            write_bytes(&mut c, ptr, &key)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "tx_hash",
        |mut c: Caller<'_, HostState>, ptr: i32| -> wasmtime::Result<()> {
            let hash = c.data().context.tx_hash.0;
            write_bytes(&mut c, ptr, &hash)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "block_height",
        |mut c: Caller<'_, HostState>| -> wasmtime::Result<i64> {
            charge(&mut c, 0)?;
            Ok(c.data().context.height as i64)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "block_time_ms",
        |mut c: Caller<'_, HostState>| -> wasmtime::Result<i64> {
            charge(&mut c, 0)?;
            Ok(c.data().context.time_ms as i64)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "emit_event",
        |mut c: Caller<'_, HostState>,
         np: i32,
         nl: i32,
         dp: i32,
         dl: i32|
         -> wasmtime::Result<()> {
            if c.data().events.len() >= EVENTS_PER_CALL_MAX {
                return Err(trap(
                    FailureCode::HostLimit,
                    format!("more than {EVENTS_PER_CALL_MAX} events"),
                ));
            }
            let name = read_bytes(&mut c, np, nl, 64, "event name")?;
            let data = read_bytes(&mut c, dp, dl, EVENT_DATA_BYTES_MAX, "event data")?;
            let name = String::from_utf8(name)
                .map_err(|_| trap(FailureCode::HostLimit, "event name is not UTF-8"))?;
            let contract = c.data().context.contract.clone();
            c.data_mut().events.push(Event {
                contract,
                name,
                data,
            });
            Ok(())
        },
    )?;
    linker.func_wrap(
        MODULE,
        "set_return",
        |mut c: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let data = read_bytes(&mut c, ptr, len, RETURN_BYTES_MAX, "return data")?;
            c.data_mut().return_data = data;
            Ok(())
        },
    )?;
    linker.func_wrap(
        MODULE,
        "epcis_facts",
        |mut c: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<i64> {
            // Priced by the declared length before a byte is read or parsed,
            // within the limit the chain sets at this height.
            let limit = usize::try_from(c.data().context.epcis_event_bytes_max)
                .unwrap_or(usize::MAX)
                .min(EPCIS_EVENT_BYTES_MAX);
            let declared = len_of(len, limit, "EPCIS event")?;
            burn(
                &mut c,
                EPCIS_FACTS_BYTE_FUEL.saturating_mul(declared as u64),
            )?;
            let event = read_bytes(&mut c, ptr, len, limit, "EPCIS event")?;
            // A panic in library code must not cross into consensus (every
            // validator would stop on the same block): it refuses the event.
            let facts: Result<EpcisFacts, String> =
                std::panic::catch_unwind(|| filiera_epcis::stored_event_facts(&event))
                    .unwrap_or(Err(UNHASHABLE))
                    .map_err(|refusal| refusal.to_string());
            let encoded = borsh::to_vec(&facts)
                .map_err(|_| trap(FailureCode::HostLimit, "epcis_facts: unencodable answer"))?;
            load_register(&mut c, encoded)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "abort",
        |mut c: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let msg = read_bytes(&mut c, ptr, len, 1024, "abort message")?;
            Err(trap(
                FailureCode::Abort,
                String::from_utf8_lossy(&msg).into_owned(),
            ))
        },
    )?;
    Ok(())
}

/// The next key under `prefix` strictly after `after` in `base` with
/// `changes` laid over it (a `None` change hides the key). Shared by a call's
/// own writes over the block and by the block's changes over committed state.
pub(crate) fn next_key_over(
    base: &dyn StateReader,
    changes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    prefix: &[u8],
    after: &[u8],
) -> Result<Option<Vec<u8>>, StateUnreadable> {
    let mut cursor = after.to_vec();
    loop {
        let committed = base.next(prefix, &cursor)?.map(|(k, _)| k);
        let changed = changes
            .range::<[u8], _>((
                std::ops::Bound::Excluded(cursor.as_slice()),
                std::ops::Bound::Unbounded,
            ))
            .map(|(k, _)| k)
            .find(|k| k.as_slice() >= prefix)
            .filter(|k| k.starts_with(prefix))
            .cloned();
        let key = match (committed, changed) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(key) => key,
                None => return Ok(None),
            },
        };
        match changes.get(&key) {
            Some(None) => cursor = key,
            _ => return Ok(Some(key)),
        }
    }
}
