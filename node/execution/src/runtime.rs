//! The deterministic wasmtime runtime: engine configuration, the compiled-module
//! cache, and running one contract call under fuel.

use crate::host::{self, CallContext, HostState, HostTrap, StateReader, StateUnreadable};
use crate::limits::{
    CONTRACT_MEMORY_PAGES_MAX, GAS_SCHEDULE_VERSION, MEMORY_KEEP_RESIDENT_BYTES, MEMORY_PAGE_FUEL,
    POOLED_INSTANCES_MAX, TABLE_ELEMENTS_MAX, TABLE_KEEP_RESIDENT_BYTES, WASM_STACK_BYTES_MAX,
};
use crate::outcome::{CallOutcome, CallStatus, FailureCode};
use crate::validate::{DeployError, validate_module};
use filiera_types::{Domain, Hash};
use std::collections::BTreeMap;
use std::hash::{Hash as _, Hasher as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, Store, Trap,
};

/// Why the runtime could not load a contract.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The module failed deploy-time validation.
    #[error(transparent)]
    Deploy(#[from] DeployError),
    /// wasmtime refused the configuration or the module.
    #[error("wasmtime: {0}")]
    Engine(String),
    /// A contract id the node keeps for its own native calls.
    #[error("contract id {0} is reserved for the node's native calls")]
    ReservedId(String),
    /// The compiled-module cache could not be read or written.
    #[error("module cache {path}: {reason}")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

fn engine_err(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Engine(e.to_string())
}

/// The deterministic engine configuration (see the crate docs).
pub fn deterministic_config() -> Config {
    let mut c = Config::new();
    c.consume_fuel(true)
        .cranelift_nan_canonicalization(true)
        .wasm_simd(false)
        .wasm_relaxed_simd(false)
        .wasm_memory64(false)
        .wasm_multi_memory(false)
        .wasm_tail_call(false)
        .wasm_gc(false)
        .wasm_stack_switching(false)
        .wasm_wide_arithmetic(false)
        .wasm_custom_page_sizes(false)
        .max_wasm_stack(WASM_STACK_BYTES_MAX);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(POOLED_INSTANCES_MAX)
        .total_memories(POOLED_INSTANCES_MAX)
        .total_tables(POOLED_INSTANCES_MAX)
        .max_memory_size((CONTRACT_MEMORY_PAGES_MAX as usize) * 64 * 1024)
        .table_elements(TABLE_ELEMENTS_MAX as usize)
        // Reset a used slot by memset instead of handing pages back to the
        // kernel: calls are short and touch few pages, and page faults on the
        // next call cost more than clearing them.
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT_BYTES)
        .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES);
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // Data segments are a few KiB: copying them is cheaper than mapping a
    // copy-on-write image and taking a write fault on every first store.
    c.memory_init_cow(false);
    c
}

/// A compiled, linked contract ready to instantiate in microseconds.
#[derive(Clone)]
pub struct LoadedContract {
    pre: InstancePre<HostState>,
    code_hash: Hash,
}

impl LoadedContract {
    /// The hash of the contract's WASM code.
    pub fn code_hash(&self) -> Hash {
        self.code_hash
    }
}

/// Where compiled modules are kept between runs, and the key that
/// authenticates them.
///
/// A compiled artifact is native code that wasmtime loads without checking
/// it, so the directory alone is not trusted: each artifact carries a keyed
/// BLAKE3 MAC over its name (code hash, engine key) and bytes, and one whose
/// MAC does not verify is compiled again and overwritten. Whoever can write
/// the directory but not read the key (a node derives it from its consensus
/// key) cannot make a file of theirs, or another contract's artifact renamed,
/// run as native code.
#[derive(Clone)]
pub struct ArtifactCache {
    /// The directory.
    pub dir: PathBuf,
    /// The MAC key: secret, stable across runs of one node; wiped on drop.
    pub mac_key: zeroize::Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for ArtifactCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactCache")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Bytes of an artifact's MAC, written before the artifact.
const ARTIFACT_MAC_BYTES: usize = 32;
/// Largest artifact file read back, bytes (the demo contracts compile to
/// well under 1 MiB).
pub const ARTIFACT_BYTES_MAX: u64 = 64 << 20;

/// The contract engine: one per node.
pub struct ContractEngine {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Option<ArtifactCache>,
    loaded: Mutex<BTreeMap<Hash, LoadedContract>>,
}

impl ContractEngine {
    /// An engine caching compiled modules in `cache` (none: compile every load).
    pub fn new(cache: Option<ArtifactCache>) -> Result<ContractEngine, RuntimeError> {
        let engine = Engine::new(&deterministic_config()).map_err(engine_err)?;
        let mut linker = Linker::new(&engine);
        host::link(&mut linker).map_err(engine_err)?;
        Ok(ContractEngine {
            engine,
            linker,
            cache,
            loaded: Mutex::new(BTreeMap::new()),
        })
    }

    /// Identifies compiled artifacts this engine can load: wasmtime's own
    /// compatibility hash (version, settings, CPU features) and the fuel schedule.
    pub fn compatibility_key(&self) -> String {
        // DefaultHasher::new() has fixed keys: the same engine gives the same key.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        format!("{:016x}-gas{GAS_SCHEDULE_VERSION}", h.finish())
    }

    /// Drops the in-memory table of loaded contracts, so the next `load` goes to
    /// the disk cache (used under memory pressure and by the load benchmark).
    pub fn forget_loaded(&self) {
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.clear();
        }
    }

    /// The module of `code_hash` if this engine loaded it already.
    pub fn loaded(&self, code_hash: &Hash) -> Option<LoadedContract> {
        self.loaded.lock().ok()?.get(code_hash).cloned()
    }

    /// Validates, compiles (or loads from the local cache) and links a module.
    pub fn load(&self, code: &[u8]) -> Result<LoadedContract, RuntimeError> {
        let code_hash = Hash::of(Domain::ContractCode, code);
        if let Ok(loaded) = self.loaded.lock()
            && let Some(c) = loaded.get(&code_hash)
        {
            return Ok(c.clone());
        }
        let module = self.compile_cached(code, &code_hash)?;
        let pre = self.linker.instantiate_pre(&module).map_err(engine_err)?;
        let contract = LoadedContract { pre, code_hash };
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.insert(code_hash, contract.clone());
        }
        Ok(contract)
    }

    fn compile_cached(&self, code: &[u8], code_hash: &Hash) -> Result<Module, RuntimeError> {
        let Some(cache) = &self.cache else {
            validate_module(code)?;
            return Module::from_binary(&self.engine, code).map_err(engine_err);
        };
        let dir = &cache.dir;
        let name = format!("{}-{}.cwasm", code_hash.to_hex(), self.compatibility_key());
        let path = dir.join(&name);
        // An artifact is written only after its code passed validation, with
        // a MAC over its name and bytes: one that verifies is this node's
        // compilation of exactly this code. Anything else is compiled again.
        if path.exists()
            && let Some(module) = load_artifact(&self.engine, cache, &name, &path)
        {
            return Ok(module);
        }
        validate_module(code)?;
        let module = Module::from_binary(&self.engine, code).map_err(engine_err)?;
        let compiled = module.serialize().map_err(engine_err)?;
        let mut bytes = artifact_mac(cache, &name, &compiled).as_bytes().to_vec();
        bytes.extend_from_slice(&compiled);
        let cache_err = |e: std::io::Error| RuntimeError::Cache {
            path: path.clone(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(cache_err)?;
        // Write then rename, so a crash never leaves a half-written artifact
        // under the final name; the temporary name is this writer's own, so
        // engines compiling the same code at once (two commands on one home,
        // parallel tests) never rename each other's file away.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
        std::fs::write(&tmp, &bytes).map_err(cache_err)?;
        std::fs::rename(&tmp, &path).map_err(cache_err)?;
        Ok(module)
    }

    /// Runs `input` (the method and its arguments, as the contract's SDK encodes
    /// them) against a loaded contract with `fuel_limit` fuel.
    pub fn call(
        &self,
        contract: &LoadedContract,
        state: Arc<dyn StateReader>,
        context: CallContext,
        input: Vec<u8>,
        fuel_limit: u64,
    ) -> Result<CallOutcome, StateUnreadable> {
        let data = HostState {
            state,
            context,
            input,
            register: Vec::new(),
            writes: BTreeMap::new(),
            events: Vec::new(),
            return_data: Vec::new(),
            memory_pages_max: CONTRACT_MEMORY_PAGES_MAX as usize,
            pages_grown: 0,
        };
        let mut store = Store::new(&self.engine, data);
        store.limiter(|s| s);
        let failed = |code, message: String, fuel_used| CallOutcome {
            status: CallStatus::Failed { code, message },
            fuel_used,
            writes: BTreeMap::new(),
            events: Vec::new(),
            return_data: Vec::new(),
        };
        if store.set_fuel(fuel_limit).is_err() {
            return Ok(failed(
                FailureCode::NoContract,
                "fuel metering unavailable".into(),
                0,
            ));
        }
        let result = contract
            .pre
            .instantiate(&mut store)
            .and_then(|instance| {
                instance.get_typed_func::<(), ()>(&mut store, crate::abi::CALL_EXPORT)
            })
            .map_err(|e| (true, e))
            .and_then(|call| call.call(&mut store, ()).map_err(|e| (false, e)));
        let remaining = store.get_fuel().unwrap_or(0);
        let memory_fuel = store.data().pages_grown.saturating_mul(MEMORY_PAGE_FUEL);
        let fuel_used = (fuel_limit - remaining.min(fuel_limit))
            .saturating_add(memory_fuel)
            .min(fuel_limit);
        Ok(match result {
            Ok(()) if remaining < memory_fuel => failed(
                FailureCode::OutOfFuel,
                "out of fuel growing memory".into(),
                fuel_limit,
            ),
            Ok(()) => {
                let data = store.into_data();
                CallOutcome {
                    status: CallStatus::Success,
                    fuel_used,
                    writes: data.writes,
                    events: data.events,
                    return_data: data.return_data,
                }
            }
            // This node's store failed under the call: no receipt can say
            // that, the block is not executed at all.
            Err((_, e)) if e.downcast_ref::<StateUnreadable>().is_some() => {
                return Err(e
                    .downcast::<StateUnreadable>()
                    .unwrap_or_else(|e| StateUnreadable(e.to_string())));
            }
            Err((instantiating, e)) => {
                let (code, message) = classify(&e, instantiating);
                failed(code, message, fuel_used)
            }
        })
    }
}

/// Maps a wasmtime error to a stable code and message (never wasmtime's text).
fn classify(e: &wasmtime::Error, instantiating: bool) -> (FailureCode, String) {
    if let Some(host) = e.downcast_ref::<HostTrap>() {
        return (host.code, host.message.clone());
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => (FailureCode::OutOfFuel, "out of fuel".into()),
        Some(Trap::StackOverflow) => (FailureCode::StackOverflow, "wasm stack exhausted".into()),
        Some(Trap::UnreachableCodeReached) => (FailureCode::Trap, "unreachable executed".into()),
        Some(Trap::MemoryOutOfBounds) => (FailureCode::Trap, "memory access out of bounds".into()),
        Some(Trap::IntegerDivisionByZero) => (FailureCode::Trap, "integer division by zero".into()),
        Some(Trap::IntegerOverflow) => (FailureCode::Trap, "integer overflow".into()),
        Some(_) => (FailureCode::Trap, "trap".into()),
        None if instantiating => (
            FailureCode::NoContract,
            "contract could not be instantiated".into(),
        ),
        None => (FailureCode::Trap, "trap".into()),
    }
}

/// The MAC of an artifact named `name` holding `compiled`.
fn artifact_mac(cache: &ArtifactCache, name: &str, compiled: &[u8]) -> blake3::Hash {
    let mut mac = blake3::Hasher::new_keyed(&cache.mac_key);
    mac.update(&(name.len() as u64).to_le_bytes());
    mac.update(name.as_bytes());
    mac.update(compiled);
    mac.finalize()
}

/// Loads a compiled artifact that this node wrote itself, or None: a file
/// too large, unreadable, or whose MAC does not verify (written by someone
/// else, copied from another name, truncated, or from before MACs).
#[allow(unsafe_code)]
fn load_artifact(
    engine: &Engine,
    cache: &ArtifactCache,
    name: &str,
    path: &std::path::Path,
) -> Option<Module> {
    if std::fs::metadata(path).ok()?.len() > ARTIFACT_BYTES_MAX {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() < ARTIFACT_MAC_BYTES {
        return None;
    }
    let (stored, compiled) = bytes.split_at(ARTIFACT_MAC_BYTES);
    // blake3::Hash compares in constant time.
    if artifact_mac(cache, name, compiled) != blake3::Hash::from_slice(stored).ok()? {
        return None;
    }
    // SAFETY: wasmtime trusts a serialized module's machine code. These bytes
    // carry a MAC under this node's secret key over this very name (code hash,
    // engine key) and content: this node compiled them from this code.
    unsafe { Module::deserialize(engine, compiled) }.ok()
}
