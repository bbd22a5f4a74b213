//! The raw imports of host ABI v1. Pointers and lengths are wasm32 `i32`s; a
//! result of `-1` means "absent", otherwise the length now in the register.

#[link(wasm_import_module = "filiera")]
unsafe extern "C" {
    pub fn input_len() -> i32;
    pub fn input_read(ptr: i32);
    pub fn storage_read(key_ptr: i32, key_len: i32) -> i64;
    pub fn storage_write(key_ptr: i32, key_len: i32, value_ptr: i32, value_len: i32);
    pub fn storage_delete(key_ptr: i32, key_len: i32);
    pub fn storage_next(prefix_ptr: i32, prefix_len: i32, after_ptr: i32, after_len: i32) -> i64;
    pub fn contract_read(id_ptr: i32, id_len: i32, key_ptr: i32, key_len: i32) -> i64;
    pub fn register_read(ptr: i32);
    pub fn caller(ptr: i32);
    pub fn tx_hash(ptr: i32);
    pub fn block_height() -> i64;
    pub fn block_time_ms() -> i64;
    pub fn emit_event(name_ptr: i32, name_len: i32, data_ptr: i32, data_len: i32);
    pub fn set_return(ptr: i32, len: i32);
    pub fn abort(ptr: i32, len: i32) -> !;
    pub fn epcis_facts(ptr: i32, len: i32) -> i64;
}
