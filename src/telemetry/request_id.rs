//! The id of the request a thread is handling, for the lines logged meanwhile.
//!
//! Each line logged while a request is handled starts with
//! `request{request_id=…}: `, the shape a tracing span named `request` gives it.
//! A real span would open, enter, leave and close per request and format its
//! fields when it opens, on every request whether or not a line is logged; a
//! thread-local id set while the request's future is polled costs two `Cell`
//! writes, and the id is formatted only when a line is written.
//!
//! Like the span it replaces, the id follows the request's own future on its
//! worker thread, not work handed to other threads (password hashing).

use std::cell::Cell;
use std::fmt::{self, Write};
use std::marker::PhantomData;

use uuid::Uuid;

thread_local! {
    static HANDLING: Cell<Option<RequestId>> = const { Cell::new(None) };
}

/// A request's id: a random UUID, written in its hyphenated form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestId(Uuid);

impl RequestId {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// The request this thread is handling, if any.
    pub fn current() -> Option<Self> {
        HANDLING.get()
    }

    /// Makes this the current request until the returned guard is dropped, which
    /// puts back whatever was current before.
    pub fn handling(self) -> Handling {
        Handling {
            previous: HANDLING.replace(Some(self)),
            this_thread: PhantomData,
        }
    }

    /// `request{request_id=…}: `, the prefix of a line logged while handling it.
    pub fn write_prefix(self, line: &mut impl Write) -> fmt::Result {
        let mut text = Uuid::encode_buffer();
        line.write_str("request{request_id=")?;
        line.write_str(self.0.hyphenated().encode_lower(&mut text))?;
        line.write_str("}: ")
    }
}

/// The current request while alive: see [`RequestId::handling`].
#[must_use = "the request is current only while the guard lives"]
pub struct Handling {
    previous: Option<RequestId>,
    /// Not `Send`: it restores the thread-local of the thread that made it.
    this_thread: PhantomData<*const ()>,
}

impl Drop for Handling {
    fn drop(&mut self) {
        HANDLING.set(self.previous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_request_is_set_while_handling_and_restored_after() {
        assert_eq!(RequestId::current(), None);
        let outer = RequestId::random();
        let inner = RequestId::random();
        assert_ne!(outer, inner);
        {
            let _outer = outer.handling();
            assert_eq!(RequestId::current(), Some(outer));
            {
                let _inner = inner.handling();
                assert_eq!(RequestId::current(), Some(inner));
            }
            assert_eq!(RequestId::current(), Some(outer));
        }
        assert_eq!(RequestId::current(), None);
    }

    #[test]
    fn the_prefix_is_the_shape_of_a_request_span() {
        let id = RequestId(Uuid::from_u128(0x6f1c_0000_0000_4000_8000_0000_0000_00ab));
        let mut line = String::new();
        id.write_prefix(&mut line).unwrap();
        assert_eq!(line, "request{request_id=6f1c0000-0000-4000-8000-0000000000ab}: ");
    }
}
