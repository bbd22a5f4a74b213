//! filiera-sheet: files read, dry-run and exported as the app uses them.

mod app;
mod check;
mod export;
mod read;
