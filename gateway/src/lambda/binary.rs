//! Which payloads count as binary: `binaryMediaTypes` matching (aws-behaviour §3b, §7).

/// Whether `media` (a Content-Type or Accept value) matches `binaryMediaTypes`, with `*/*` and
/// `type/*` wildcards.
pub(crate) fn is_binary(types: &[String], media: Option<&str>) -> bool {
    let Some(media) = media else { return false };
    let m = media
        .split([';', ','])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if m.is_empty() {
        return false;
    }
    types.iter().any(|t| {
        let t = t.trim().to_ascii_lowercase();
        t == "*/*"
            || t == m
            || t.strip_suffix("/*")
                .is_some_and(|major| m.split('/').next() == Some(major))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_media_matching() {
        let types = vec![
            "image/*".to_string(),
            "application/octet-stream".to_string(),
        ];
        assert!(is_binary(&types, Some("image/png")));
        assert!(is_binary(&types, Some("application/octet-stream; q=1")));
        assert!(!is_binary(&types, Some("text/plain")));
        assert!(is_binary(&["*/*".to_string()], Some("text/plain")));
        assert!(!is_binary(&types, None));
    }
}
