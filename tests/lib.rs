//! Cross-crate scenario tests live beside this file; the library is empty.
