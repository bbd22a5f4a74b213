//! The contract SDK: what a Filiera contract is written with.
//!
//! **Purpose.** Contracts are `no_std` Rust crates built for
//! `wasm32-unknown-unknown`. This crate binds the host ABI v1 (module
//! `filiera`), gives typed borsh storage, decodes the call input, and turns a
//! panic into an `abort` with a message so a bug fails one transaction with a
//! readable receipt.
//!
//! **Invariants.** Each call runs in a fresh instance, so the allocator is a
//! bump allocator that never frees: memory is dropped whole when the call
//! ends, and allocation costs a few instructions. Nothing here reads a clock,
//! randomness or floats: a contract sees only its input, its storage, other
//! contracts' public records and the block context.
//!
//! **Threats.** Arguments come from any signer: [`args`] refuses malformed
//! bytes with an error instead of trapping, and records read from storage that
//! do not decode abort the call rather than being trusted.

#![no_std]

extern crate alloc;

mod bump;
pub mod env;
mod host;
pub mod storage;

pub use filiera_contract_api as api;

use alloc::string::String;
use alloc::vec::Vec;
use borsh::BorshDeserialize;

/// Why a call failed: the message goes into the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

/// A contract method's result.
pub type Result<T> = core::result::Result<T, Error>;

/// Fails the call with a formatted message.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { $crate::Error(::alloc::format!($($arg)*)) };
}

/// Fails the call with a formatted message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err($crate::fail!($($arg)*));
        }
    };
}

/// Exports the `call` entry point, dispatching to `f(method, args)`.
#[macro_export]
macro_rules! entry {
    ($dispatch:path) => {
        /// The entry point the host calls.
        #[unsafe(no_mangle)]
        pub extern "C" fn call() {
            $crate::run($dispatch)
        }
    };
}

/// Decodes a method's borsh arguments.
pub fn args<T: BorshDeserialize>(bytes: &[u8]) -> Result<T> {
    borsh::from_slice(bytes).map_err(|_| Error(String::from("malformed arguments")))
}

/// Runs one call: decodes the input, dispatches, returns data or aborts.
pub fn run(dispatch: fn(&str, &[u8]) -> Result<Vec<u8>>) {
    let input = env::input();
    let Some(call) = api::decode::<api::CallInput>(&input) else {
        env::abort("malformed call input");
    };
    match dispatch(&call.method, &call.args) {
        Ok(data) => env::set_return(&data),
        Err(Error(message)) => env::abort(&message),
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // The message only: locations would put build paths into receipts.
    env::abort(&alloc::format!("panic: {}", info.message()))
}
