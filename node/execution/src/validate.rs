//! Deploy-time validation: a module is checked against the deterministic feature
//! set, the host ABI and the named limits before it is ever compiled.

use crate::abi::{CALL_EXPORT, HOST_FUNCTIONS, HOST_MODULE, MEMORY_EXPORT};
use crate::limits::{
    CONTRACT_CODE_BYTES_MAX, CONTRACT_FUNCTIONS_MAX, CONTRACT_MEMORY_PAGES_MAX,
    FUNCTION_BODY_BYTES_MAX, FUNCTION_LOCALS_MAX, GLOBALS_MAX, TABLE_ELEMENTS_MAX,
};
use wasmparser::{ExternalKind, FuncType, Parser, Payload, TypeRef, Validator, WasmFeatures};

/// Why a module may not be deployed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeployError {
    /// Larger than [`CONTRACT_CODE_BYTES_MAX`].
    #[error("module is {len} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// Module size in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// Not valid WebAssembly under the allowed features (the message names a disabled feature).
    #[error("invalid or disallowed WebAssembly: {0}")]
    Invalid(String),
    /// An import outside the host ABI.
    #[error("import {module}::{name} is not allowed (only {HOST_MODULE}::* host functions are)")]
    ForbiddenImport {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
    },
    /// A host function imported with the wrong signature.
    #[error("import {HOST_MODULE}::{name} has signature {found}, expected {expected}")]
    ImportSignature {
        /// Import name.
        name: String,
        /// The ABI's signature.
        expected: String,
        /// The module's signature.
        found: String,
    },
    /// An imported memory, table, global or tag.
    #[error("import {module}::{name}: only functions may be imported, not a {kind}")]
    ImportedNonFunction {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
        /// memory, table, global or tag.
        kind: &'static str,
    },
    /// Not exactly one memory.
    #[error("a contract defines exactly one memory, this module defines {0}")]
    MemoryCount(u32),
    /// A memory starting above the page limit.
    #[error("memory starts at {pages} pages, over the limit of {max} pages (64 KiB each)")]
    MemoryTooLarge {
        /// Initial pages.
        pages: u64,
        /// The limit.
        max: u64,
    },
    /// A table starting above the element limit.
    #[error("table starts with {elements} elements, over the limit of {max}")]
    TableTooLarge {
        /// Initial elements.
        elements: u64,
        /// The limit.
        max: u64,
    },
    /// Too many functions or globals.
    #[error("module defines {count} {what}, over the limit of {max}")]
    TooMany {
        /// functions or globals.
        what: &'static str,
        /// How many.
        count: u32,
        /// The limit.
        max: u32,
    },
    /// A function with too many locals.
    #[error("function {index} declares {locals} locals, over the limit of {max}")]
    TooManyLocals {
        /// Function index.
        index: u32,
        /// Locals including parameters.
        locals: u64,
        /// The limit.
        max: u32,
    },
    /// A function body over the byte limit.
    #[error("function {index} body is {len} bytes, over the limit of {max}")]
    BodyTooLarge {
        /// Function index.
        index: u32,
        /// Body size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A start function (it would run at every instantiation, outside any call).
    #[error("a start function is not allowed")]
    StartFunction,
    /// A required export is missing or has the wrong kind or signature.
    #[error("export {name:?}: {reason}")]
    Export {
        /// Export name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// What validation learned about an accepted module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Functions defined (imports excluded).
    pub functions: u32,
    /// Host functions imported, by name.
    pub imports: Vec<String>,
    /// Initial memory size, in 64 KiB pages.
    pub memory_pages: u64,
}

/// The WebAssembly features a contract may use: "lime1", deterministic linear
/// memory code (floats included; the engine canonicalises NaNs).
pub fn allowed_features() -> WasmFeatures {
    WasmFeatures::LIME1
}

fn signature(params: &[wasmparser::ValType], results: &[wasmparser::ValType]) -> String {
    let list = |v: &[wasmparser::ValType]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

fn invalid(e: wasmparser::BinaryReaderError) -> DeployError {
    DeployError::Invalid(e.message().to_owned())
}

/// Validates a contract module for deployment.
pub fn validate_module(bytes: &[u8]) -> Result<ModuleInfo, DeployError> {
    if bytes.len() > CONTRACT_CODE_BYTES_MAX {
        return Err(DeployError::TooLarge {
            len: bytes.len(),
            max: CONTRACT_CODE_BYTES_MAX,
        });
    }
    // The full validator first: everything below may then assume a well-formed module.
    Validator::new_with_features(allowed_features())
        .validate_all(bytes)
        .map_err(invalid)?;

    let mut types: Vec<FuncType> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new(); // type index of every function, imports first
    let mut imported_funcs: u32 = 0;
    let mut imports = Vec::new();
    let mut memories: u32 = 0;
    let mut memory_pages = 0;
    let mut exports: Vec<(String, ExternalKind, u32)> = Vec::new();
    let mut next_body: u32 = 0;

    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(ty.map_err(invalid)?);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    let (module, name) = (import.module.to_owned(), import.name.to_owned());
                    let kind = match import.ty {
                        TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                            check_host_import(&module, &name, types.get(t as usize))?;
                            func_types.push(t);
                            imported_funcs += 1;
                            imports.push(name);
                            continue;
                        }
                        TypeRef::Memory(_) => "memory",
                        TypeRef::Table(_) => "table",
                        TypeRef::Global(_) => "global",
                        TypeRef::Tag(_) => "tag",
                    };
                    return Err(DeployError::ImportedNonFunction { module, name, kind });
                }
            }
            Payload::FunctionSection(reader) => {
                let count = reader.count();
                if count > CONTRACT_FUNCTIONS_MAX {
                    return Err(DeployError::TooMany {
                        what: "functions",
                        count,
                        max: CONTRACT_FUNCTIONS_MAX,
                    });
                }
                for t in reader {
                    func_types.push(t.map_err(invalid)?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let elements = table.map_err(invalid)?.ty.initial;
                    if elements > TABLE_ELEMENTS_MAX {
                        return Err(DeployError::TableTooLarge {
                            elements,
                            max: TABLE_ELEMENTS_MAX,
                        });
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(invalid)?;
                    memories += 1;
                    if memory.initial > CONTRACT_MEMORY_PAGES_MAX {
                        return Err(DeployError::MemoryTooLarge {
                            pages: memory.initial,
                            max: CONTRACT_MEMORY_PAGES_MAX,
                        });
                    }
                    memory_pages = memory.initial;
                }
            }
            Payload::GlobalSection(reader) if reader.count() > GLOBALS_MAX => {
                return Err(DeployError::TooMany {
                    what: "globals",
                    count: reader.count(),
                    max: GLOBALS_MAX,
                });
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(invalid)?;
                    exports.push((export.name.to_owned(), export.kind, export.index));
                }
            }
            Payload::StartSection { .. } => return Err(DeployError::StartFunction),
            Payload::CodeSectionEntry(body) => {
                let index = imported_funcs + next_body;
                next_body += 1;
                let len = body.range().len();
                if len > FUNCTION_BODY_BYTES_MAX {
                    return Err(DeployError::BodyTooLarge {
                        index,
                        len,
                        max: FUNCTION_BODY_BYTES_MAX,
                    });
                }
                let params = func_types
                    .get(index as usize)
                    .and_then(|t| types.get(*t as usize))
                    .map_or(0, |t| t.params().len() as u64);
                let mut locals = params;
                for group in body.get_locals_reader().map_err(invalid)? {
                    let (count, _) = group.map_err(invalid)?;
                    locals += u64::from(count);
                }
                if locals > u64::from(FUNCTION_LOCALS_MAX) {
                    return Err(DeployError::TooManyLocals {
                        index,
                        locals,
                        max: FUNCTION_LOCALS_MAX,
                    });
                }
            }
            _ => {}
        }
    }
    if memories != 1 {
        return Err(DeployError::MemoryCount(memories));
    }
    check_exports(&exports, &func_types, &types)?;
    Ok(ModuleInfo {
        functions: next_body,
        imports,
        memory_pages,
    })
}

fn check_host_import(module: &str, name: &str, ty: Option<&FuncType>) -> Result<(), DeployError> {
    let host = HOST_FUNCTIONS
        .iter()
        .find(|f| module == HOST_MODULE && f.name == name);
    let Some(host) = host else {
        return Err(DeployError::ForbiddenImport {
            module: module.to_owned(),
            name: name.to_owned(),
        });
    };
    let (params, results) = ty.map(|t| (t.params(), t.results())).unwrap_or((&[], &[]));
    if params != host.params || results != host.results {
        return Err(DeployError::ImportSignature {
            name: name.to_owned(),
            expected: signature(host.params, host.results),
            found: signature(params, results),
        });
    }
    Ok(())
}

fn check_exports(
    exports: &[(String, ExternalKind, u32)],
    func_types: &[u32],
    types: &[FuncType],
) -> Result<(), DeployError> {
    let find = |name: &str| exports.iter().find(|(n, _, _)| n == name);
    match find(MEMORY_EXPORT) {
        Some((_, ExternalKind::Memory, _)) => {}
        Some(_) => {
            return Err(DeployError::Export {
                name: MEMORY_EXPORT,
                reason: "is not a memory".into(),
            });
        }
        None => {
            return Err(DeployError::Export {
                name: MEMORY_EXPORT,
                reason: "missing".into(),
            });
        }
    }
    match find(CALL_EXPORT) {
        Some((_, ExternalKind::Func, index)) => {
            let ty = func_types
                .get(*index as usize)
                .and_then(|t| types.get(*t as usize));
            match ty {
                Some(t) if t.params().is_empty() && t.results().is_empty() => Ok(()),
                Some(t) => Err(DeployError::Export {
                    name: CALL_EXPORT,
                    reason: format!(
                        "has signature {}, expected () -> ()",
                        signature(t.params(), t.results())
                    ),
                }),
                None => Err(DeployError::Export {
                    name: CALL_EXPORT,
                    reason: "has no function type".into(),
                }),
            }
        }
        Some(_) => Err(DeployError::Export {
            name: CALL_EXPORT,
            reason: "is not a function".into(),
        }),
        None => Err(DeployError::Export {
            name: CALL_EXPORT,
            reason: "missing".into(),
        }),
    }
}
