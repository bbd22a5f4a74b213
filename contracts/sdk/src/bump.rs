//! A bump allocator: each call runs in a fresh instance whose memory is
//! dropped whole afterwards, so freeing would only cost fuel.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::sync::atomic::{AtomicUsize, Ordering};

const PAGE_BYTES: usize = 64 * 1024;

unsafe extern "C" {
    /// Where the linker placed the start of the heap.
    static __heap_base: u8;
}

struct Bump {
    next: AtomicUsize,
    end: AtomicUsize,
}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // wasm32 without threads: the atomics are plain loads and stores.
        let mut next = self.next.load(Ordering::Relaxed);
        let mut end = self.end.load(Ordering::Relaxed);
        if next == 0 {
            next = core::ptr::addr_of!(__heap_base) as usize;
            end = wasm32::memory_size(0) * PAGE_BYTES;
        }
        let start = match next.checked_add(layout.align() - 1) {
            Some(n) => n & !(layout.align() - 1),
            None => return core::ptr::null_mut(),
        };
        let Some(stop) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if stop > end {
            let pages = (stop - end).div_ceil(PAGE_BYTES);
            if wasm32::memory_grow(0, pages) == usize::MAX {
                return core::ptr::null_mut();
            }
            end += pages * PAGE_BYTES;
        }
        self.next.store(stop, Ordering::Relaxed);
        self.end.store(end, Ordering::Relaxed);
        start as *mut u8
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump {
    next: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
};
