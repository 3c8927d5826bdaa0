//! The calls an integration made (a function invocation, an upstream request), kept on the
//! request for traces and, when someone is looking, the dashboard.

use std::time::Duration;

/// What a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Lambda,
    Http,
}

impl CallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Lambda => "lambda",
            CallKind::Http => "http",
        }
    }
}

/// One call the integration made: a function invocation or an upstream request. Traces get a
/// span per call; the dashboard shows the exchange when the request captured it.
#[derive(Debug, Clone)]
pub struct Call {
    pub kind: CallKind,
    /// The function's name, or the method and URL.
    pub target: String,
    pub started: Duration,
    pub elapsed: Duration,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// What was sent and what came back, when [`RequestContext::capture_exchanges`] is on:
    /// a Lambda event and response in full, an upstream's request and response head.
    pub request: Option<String>,
    pub response: Option<String>,
    /// An upstream answer's body as it streamed to the client (captured exchanges only).
    pub response_body: Option<std::sync::Arc<std::sync::Mutex<crate::body::Copied>>>,
}

impl Call {
    /// The response as the dashboard shows it: the head, then whatever body passed through.
    pub fn response_text(&self) -> Option<String> {
        let mut text = self.response.clone()?;
        if let Some(Ok(c)) = self.response_body.as_ref().map(|b| b.lock()) {
            if c.total > 0 {
                text.push_str("\n\n");
                text.push_str(&String::from_utf8_lossy(&c.bytes));
                if c.total > c.bytes.len() {
                    text.push_str(&format!("\n... ({} bytes in all)", c.total));
                }
            }
        }
        Some(text)
    }
}

/// How much of an exchange the dashboard keeps.
pub(crate) const EXCHANGE_LIMIT: usize = 64 * 1024;

/// A captured payload as text, cut at [`EXCHANGE_LIMIT`].
pub(crate) fn exchange_text(bytes: &[u8]) -> String {
    let cut = bytes.len().min(EXCHANGE_LIMIT);
    let mut s = String::from_utf8_lossy(&bytes[..cut]).into_owned();
    if bytes.len() > cut {
        s.push_str(&format!("\n... ({} bytes in all)", bytes.len()));
    }
    s
}
