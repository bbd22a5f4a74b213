//! Deploy-time validation: a minimal contract passes; each hostile or
//! malformed module is refused with its precise reason.

use filiera_execution::limits::{
    CONTRACT_CODE_BYTES_MAX, CONTRACT_MEMORY_PAGES_MAX, FUNCTION_LOCALS_MAX,
};
use filiera_execution::{DeployError, validate_module};

/// A minimal valid contract; `extra` goes inside the module.
fn contract(extra: &str) -> String {
    format!(
        r#"(module
            (import "filiera" "input_len" (func $input_len (result i32)))
            (import "filiera" "storage_write" (func $write (param i32 i32 i32 i32)))
            (memory (export "memory") 1)
            (func (export "call") (drop (call $input_len)))
            {extra})"#
    )
}

fn check(wat_text: &str) -> Result<filiera_execution::ModuleInfo, DeployError> {
    validate_module(&wat::parse_str(wat_text).expect("test WAT parses"))
}

#[test]
fn a_minimal_contract_is_accepted() {
    let info = check(&contract("")).unwrap();
    assert_eq!(info.functions, 1);
    assert_eq!(
        info.imports,
        vec!["input_len".to_string(), "storage_write".to_string()]
    );
    assert_eq!(info.memory_pages, 1);
    // Floats are allowed (the engine canonicalises NaNs), so is bulk memory.
    check(&contract(
        "(func (param f64) (result f64) (f64.sqrt (local.get 0)))",
    ))
    .unwrap();
    check(&contract(
        "(func (memory.fill (i32.const 0) (i32.const 0) (i32.const 8)))",
    ))
    .unwrap();
}

#[test]
fn disabled_features_are_refused_by_name() {
    let cases = [
        ("(func (drop (v128.const i64x2 0 0)))", "SIMD"),
        ("(memory $second 1)", "multiple memories"),
        ("(func (return_call 0))", "tail calls"),
    ];
    for (extra, feature) in cases {
        let err = check(&contract(extra)).expect_err(extra);
        assert!(
            matches!(&err, DeployError::Invalid(m) if m.contains(feature)),
            "{extra}: {err}"
        );
    }
    let shared = r#"(module (memory (export "memory") 1 1 shared) (func (export "call")))"#;
    assert!(matches!(check(shared), Err(DeployError::Invalid(m)) if m.contains("threads")));
    let mem64 = r#"(module (memory (export "memory") i64 1) (func (export "call")))"#;
    assert!(matches!(check(mem64), Err(DeployError::Invalid(m)) if m.contains("memory64")));
}

#[test]
fn imports_outside_the_host_abi_are_refused() {
    let wasi = r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1) (func (export "call")))"#;
    assert_eq!(
        check(wasi).unwrap_err(),
        DeployError::ForbiddenImport {
            module: "wasi_snapshot_preview1".into(),
            name: "fd_write".into()
        }
    );
    let unknown = r#"(module (import "filiera" "random" (func (result i64))) (memory (export "memory") 1) (func (export "call")))"#;
    assert!(matches!(
        check(unknown),
        Err(DeployError::ForbiddenImport { .. })
    ));
    let wrong_sig = r#"(module (import "filiera" "storage_read" (func (param i32) (result i64))) (memory (export "memory") 1) (func (export "call")))"#;
    let err = check(wrong_sig).unwrap_err();
    assert_eq!(
        err.to_string(),
        "import filiera::storage_read has signature (i32) -> (i64), expected (i32, i32) -> (i64)"
    );
    for (import, kind) in [
        (r#"(import "filiera" "mem" (memory 1))"#, "memory"),
        (r#"(import "filiera" "t" (table 1 funcref))"#, "table"),
        (r#"(import "filiera" "g" (global i32))"#, "global"),
    ] {
        let text =
            format!(r#"(module {import} (memory (export "memory") 1) (func (export "call")))"#);
        let text = if kind == "memory" {
            format!(r#"(module {import} (export "memory" (memory 0)) (func (export "call")))"#)
        } else {
            text
        };
        match check(&text) {
            Err(DeployError::ImportedNonFunction { kind: k, .. }) => assert_eq!(k, kind),
            other => panic!("{kind}: {other:?}"),
        }
    }
}

#[test]
fn size_memory_table_locals_and_start_limits() {
    let huge = vec![0u8; CONTRACT_CODE_BYTES_MAX + 1];
    assert_eq!(
        validate_module(&huge).unwrap_err(),
        DeployError::TooLarge {
            len: CONTRACT_CODE_BYTES_MAX + 1,
            max: CONTRACT_CODE_BYTES_MAX
        }
    );

    let big_memory = format!(
        r#"(module (memory (export "memory") {}) (func (export "call")))"#,
        CONTRACT_MEMORY_PAGES_MAX + 1
    );
    assert!(matches!(
        check(&big_memory),
        Err(DeployError::MemoryTooLarge { .. })
    ));
    let no_memory = r#"(module (func (export "call")))"#;
    assert_eq!(check(no_memory).unwrap_err(), DeployError::MemoryCount(0));
    let big_table = contract("(table 5000 funcref)");
    assert!(matches!(
        check(&big_table),
        Err(DeployError::TableTooLarge { elements: 5000, .. })
    ));
    let many_locals = contract(&format!(
        "(func (local {}))",
        "i64 ".repeat(FUNCTION_LOCALS_MAX as usize + 1)
    ));
    assert!(
        matches!(
            check(&many_locals),
            Err(DeployError::TooManyLocals { index: 3, .. })
        ),
        "{:?}",
        check(&many_locals)
    );
    let globals = contract(&"(global i32 (i32.const 0))".repeat(257));
    assert!(matches!(
        check(&globals),
        Err(DeployError::TooMany {
            what: "globals",
            count: 257,
            ..
        })
    ));
    let start = contract("(func $s) (start $s)");
    assert_eq!(check(&start).unwrap_err(), DeployError::StartFunction);
}

#[test]
fn required_exports_are_checked() {
    let no_call = r#"(module (memory (export "memory") 1))"#;
    assert!(matches!(
        check(no_call),
        Err(DeployError::Export { name: "call", .. })
    ));
    let bad_call = r#"(module (memory (export "memory") 1) (func (export "call") (param i32)))"#;
    let err = check(bad_call).unwrap_err();
    assert_eq!(
        err.to_string(),
        "export \"call\": has signature (i32) -> (), expected () -> ()"
    );
    let hidden_memory = r#"(module (memory 1) (func (export "call")))"#;
    assert!(matches!(
        check(hidden_memory),
        Err(DeployError::Export { name: "memory", .. })
    ));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let valid = wat::parse_str(contract("")).unwrap();
    // Every truncation and every single-byte corruption of a valid module.
    for cut in 0..valid.len() {
        let _ = validate_module(&valid[..cut]);
    }
    for i in 0..valid.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bytes = valid.clone();
            bytes[i] ^= flip;
            let _ = validate_module(&bytes);
        }
    }
    assert!(validate_module(b"\0asm").is_err());
    assert!(validate_module(b"").is_err());
}
