//! A writer that counts bytes and computes their crc32 on the way through.

use std::io::{self, Write};

/// Wraps a writer; every byte written through it goes into a crc32 and a byte count.
pub(crate) struct CrcWriter<W> {
    inner: W,
    hasher: crc32fast::Hasher,
    bytes: u64,
}

impl<W: Write> CrcWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        CrcWriter {
            inner,
            hasher: crc32fast::Hasher::new(),
            bytes: 0,
        }
    }

    /// The inner writer, the byte count and the crc32 of everything written.
    pub(crate) fn into_parts(self) -> (W, u64, u32) {
        (self.inner, self.bytes, self.hasher.finalize())
    }
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
