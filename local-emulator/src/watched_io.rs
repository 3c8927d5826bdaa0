//! A connection's I/O with a watcher in it: the watcher sees every byte that arrives, and may
//! replace single bytes of what leaves. The connection cap's idle tracking
//! ([`crate::connections`]) and the HTTP/1 wire fixes ([`crate::wire`]) are both watchers.

use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub trait Watch: Unpin {
    /// Bytes just read.
    fn read(&self, bytes: &[u8]);
    /// A byte of `data`, about to be written, to replace: its index and the new value.
    fn patch(&self, _data: &[u8]) -> Option<(usize, u8)> {
        None
    }
    /// `n` bytes of a patched write went out.
    fn wrote(&self, _n: usize) {}
    /// A patch is pending: writes go out one buffer at a time.
    fn patching(&self) -> bool {
        false
    }
}

pub struct WatchedIo<S, W> {
    inner: S,
    watch: W,
}

impl<S, W> WatchedIo<S, W> {
    pub fn new(inner: S, watch: W) -> WatchedIo<S, W> {
        WatchedIo { inner, watch }
    }
}

impl<S: AsyncRead + Unpin, W: Watch> AsyncRead for WatchedIo<S, W> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.watch.read(&buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin, W: Watch> AsyncWrite for WatchedIo<S, W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let Some((at, byte)) = self.watch.patch(data) else {
            return Pin::new(&mut self.inner).poll_write(cx, data);
        };
        let mut patched = data.to_vec();
        patched[at] = byte;
        let polled = Pin::new(&mut self.inner).poll_write(cx, &patched);
        if let Poll::Ready(Ok(n)) = polled {
            self.watch.wrote(n);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        // A vectored write may always write less than it was given.
        if self.watch.patching() {
            if let Some(first) = bufs.iter().find(|b| !b.is_empty()) {
                return self.poll_write(cx, first);
            }
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
