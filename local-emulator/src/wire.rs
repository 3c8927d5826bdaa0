//! What hyper hides on the HTTP/1 wire, recovered where API Gateway shows it:
//!
//! - **Header-name case.** hyper hands the service lowercased names. REST events and
//!   `$input.params()` carry the names as the client spelled them (aws-behaviour §3a), so the
//!   connection's reads are copied aside while a request head may be arriving, and the head is
//!   parsed again when its request reaches the service.
//! - **The status line.** hyper answers an HTTP/1.0 request with an `HTTP/1.0` status line; API
//!   Gateway answers `HTTP/1.1` (aws-behaviour §9), so the version digit of that response's status
//!   line is rewritten on its way out.
//!
//! Only what can be matched for certain is used: a head found in the copied bytes must agree
//! with the request hyper parsed (method, target and every header name), or the names stay
//! lowercase. HTTP/2 names are lowercase on the wire, so a connection that turns out to be HTTP/2
//! stops copying.

use std::mem::MaybeUninit;
use std::sync::{Arc, Mutex, MutexGuard};

use gateway::HeaderCase;
use hyper::{Request, Version};

/// hyper refuses more headers than this (the server's `max_headers`).
pub const MAX_HEADERS: usize = 200;
/// Copied bytes kept at most; past it only the newest half is kept (a head is at most 16 KiB).
const MAX_COPIED: usize = 64 * 1024;

/// Where the status-line rewrite stands for the response being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusLine {
    /// Nothing to rewrite.
    Untouched,
    /// The next write starts a response to an HTTP/1.0 request.
    Next,
    /// The version's minor digit is this many bytes ahead in the stream.
    DigitAt(usize),
}

#[derive(Debug)]
struct State {
    copied: Vec<u8>,
    copying: bool,
    /// HTTP/2: nothing to recover.
    stopped: bool,
    status: StatusLine,
}

/// One connection's tap, shared by its I/O and its service.
#[derive(Debug, Clone)]
pub struct Tap(Arc<Mutex<State>>);

impl Tap {
    pub fn new() -> Tap {
        Tap(Arc::new(Mutex::new(State {
            copied: Vec::new(),
            copying: true,
            stopped: false,
            status: StatusLine::Untouched,
        })))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the bytes are still consistent.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Called when a request reaches the service: the client's spelling of its header names,
    /// when its head can be found in the copied bytes. Copying pauses until [`Tap::answered`],
    /// so the request's body is not copied.
    pub fn header_case<B>(&self, req: &Request<B>) -> Option<HeaderCase> {
        let mut st = self.state();
        if !matches!(req.version(), Version::HTTP_10 | Version::HTTP_11) {
            st.stopped = true;
            st.copying = false;
            st.copied = Vec::new();
            return None;
        }
        st.copying = false;
        let found = find_head(&st.copied, req);
        match found {
            Some((end, case)) => {
                st.copied.drain(..end);
                Some(case)
            }
            None => {
                st.copied.clear();
                None
            }
        }
    }

    /// Called as the service hands back its response: copy again (the next head follows), and
    /// rewrite the status line when the request was HTTP/1.0.
    pub fn answered(&self, version: Version) {
        let mut st = self.state();
        if st.stopped {
            return;
        }
        st.copying = true;
        if version == Version::HTTP_10 {
            st.status = StatusLine::Next;
        }
    }

    fn copy(&self, bytes: &[u8]) {
        let mut st = self.state();
        if !st.copying {
            return;
        }
        st.copied.extend_from_slice(bytes);
        if st.copied.len() > MAX_COPIED {
            let cut = st.copied.len() - MAX_COPIED / 2;
            st.copied.drain(..cut);
        }
    }

    /// The byte of `data` to turn into `1`, if this write carries the status line's minor digit.
    fn digit_in(&self, data: &[u8]) -> Option<usize> {
        let mut st = self.state();
        match st.status {
            StatusLine::Untouched => None,
            StatusLine::Next => {
                if data.starts_with(b"HTTP/1.0 ") {
                    st.status = StatusLine::DigitAt(7);
                    Some(7)
                } else {
                    st.status = StatusLine::Untouched;
                    None
                }
            }
            StatusLine::DigitAt(at) => (at < data.len()).then_some(at),
        }
    }

    /// `written` bytes went out: move the rewrite along, or finish it.
    fn wrote(&self, written: usize) {
        let mut st = self.state();
        if let StatusLine::DigitAt(at) = st.status {
            st.status = if written > at {
                StatusLine::Untouched
            } else {
                StatusLine::DigitAt(at - written)
            };
        }
    }
}

/// The head of `req` in `copied`: where it ends and its names as spelled. The head may follow
/// the end of a body hyper read in the same read, so every place the method starts is tried.
fn find_head<B>(copied: &[u8], req: &Request<B>) -> Option<(usize, HeaderCase)> {
    let method = req.method().as_str().as_bytes();
    let starts = copied
        .windows(method.len() + 1)
        .enumerate()
        .filter(|(_, w)| w.starts_with(method) && w.last() == Some(&b' '))
        .map(|(i, _)| i);
    for start in starts {
        let rest = &copied[start..];
        // Left uninitialised, as hyper leaves its own: zeroing 200 headers cost more than the
        // parse of a typical head.
        let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut []);
        let Ok(httparse::Status::Complete(len)) = httparse::ParserConfig::default()
            .parse_request_with_uninit_headers(&mut parsed, rest, &mut headers)
        else {
            continue;
        };
        let same_target = parsed.path.is_some_and(|p| req.uri() == p);
        let same_names = parsed.headers.len() == req.headers().len()
            && parsed
                .headers
                .iter()
                .all(|h| req.headers().contains_key(h.name));
        if same_target && same_names {
            let case = HeaderCase::new(parsed.headers.iter().map(|h| h.name));
            return Some((start + len, case));
        }
    }
    None
}

impl crate::watched_io::Watch for Tap {
    fn read(&self, bytes: &[u8]) {
        self.copy(bytes);
    }

    fn patch(&self, data: &[u8]) -> Option<(usize, u8)> {
        self.digit_in(data).map(|at| (at, b'1'))
    }

    fn wrote(&self, n: usize) {
        Tap::wrote(self, n);
    }

    fn patching(&self) -> bool {
        self.state().status != StatusLine::Untouched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, target: &str, names: &[&str]) -> Request<()> {
        let mut b = Request::builder().method(method).uri(target);
        for n in names {
            b = b.header(*n, "v");
        }
        b.body(()).expect("request")
    }

    #[test]
    fn finds_the_head_after_leftover_body_bytes() {
        let tap = Tap::new();
        tap.copy(b"left over bodyGET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Custom: 1\r\ncontent-type: t\r\n\r\nnext");
        let req = request("GET", "/a?b=1", &["host", "x-custom", "content-type"]);
        let case = tap.header_case(&req).expect("found");
        assert_eq!(case.spelled("host"), "Host");
        assert_eq!(case.spelled("x-custom"), "X-Custom");
        assert_eq!(case.spelled("content-type"), "content-type");
        // What followed the head stays for the next request.
        assert_eq!(tap.state().copied, b"next");
    }

    #[test]
    fn a_head_that_disagrees_with_the_request_is_not_used() {
        let tap = Tap::new();
        tap.copy(b"GET /a HTTP/1.1\r\nHost: x\r\nX-Other: 1\r\n\r\n");
        let req = request("GET", "/a", &["host", "x-custom"]);
        assert_eq!(tap.header_case(&req), None);
        let tap = Tap::new();
        tap.copy(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(tap.header_case(&request("GET", "/a", &["host"])), None);
    }

    #[test]
    fn copying_pauses_while_a_request_is_served() {
        let tap = Tap::new();
        tap.copy(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(tap.header_case(&request("POST", "/", &["host"])).is_some());
        tap.copy(b"the body");
        assert!(tap.state().copied.is_empty());
        tap.answered(Version::HTTP_11);
        tap.copy(b"GET");
        assert_eq!(tap.state().copied, b"GET");
    }

    #[test]
    fn copies_stay_bounded() {
        let tap = Tap::new();
        for _ in 0..100 {
            tap.copy(&[b'x'; 4096]);
        }
        assert!(tap.state().copied.len() <= MAX_COPIED);
    }

    #[test]
    fn http2_stops_copying() {
        let tap = Tap::new();
        let mut req = request("GET", "/", &[]);
        *req.version_mut() = Version::HTTP_2;
        assert_eq!(tap.header_case(&req), None);
        tap.answered(Version::HTTP_2);
        tap.copy(b"frames");
        assert!(tap.state().copied.is_empty());
    }

    #[test]
    fn the_status_line_digit_is_found_across_partial_writes() {
        let tap = Tap::new();
        tap.answered(Version::HTTP_10);
        assert_eq!(tap.digit_in(b"HTTP/1.0 200 OK\r\n"), Some(7));
        tap.wrote(3);
        assert_eq!(tap.digit_in(b"P/1.0 200 OK\r\n"), Some(4));
        tap.wrote(14);
        assert_eq!(tap.digit_in(b"body"), None);
        // A response to HTTP/1.1 is left alone.
        tap.answered(Version::HTTP_11);
        assert_eq!(tap.digit_in(b"HTTP/1.1 200 OK\r\n"), None);
    }
}
