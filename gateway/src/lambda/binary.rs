//! Which payloads count as binary: `binaryMediaTypes` matching (aws-behaviour §3b, §7).

/// Whether `media` (a Content-Type or Accept value) matches `binaryMediaTypes`, with `*/*` and
/// `type/*` wildcards.
pub(crate) fn is_binary(types: &[String], media: Option<&str>) -> bool {
    // Most APIs list no binary types: then nothing needs reading.
    let Some(media) = media.filter(|_| !types.is_empty()) else {
        return false;
    };
    // Compared without case and without allocating: this runs on every answer.
    let m = media.split([';', ',']).next().unwrap_or("").trim();
    if m.is_empty() {
        return false;
    }
    types.iter().any(|t| {
        let t = t.trim();
        t == "*/*"
            || t.eq_ignore_ascii_case(m)
            // `image/*` covers `image/png`, not a bare `image` (aws-behaviour §3b).
            || t.strip_suffix("/*").is_some_and(|major| {
                m.split_once('/').is_some_and(|(m_major, minor)| {
                    m_major.eq_ignore_ascii_case(major) && !minor.is_empty()
                })
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_type_and_left_hand_wildcards_do_not_match() {
        let types = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!is_binary(&types(&["application/*"]), Some("application")));
        assert!(!is_binary(&types(&["*/test"]), Some("x/test")));
        assert!(is_binary(&types(&["image/*"]), Some("image/png")));
        assert!(is_binary(&types(&["*/*"]), Some("text/plain")));
    }

    #[test]
    fn binary_media_matching() {
        let types = vec![
            "image/*".to_string(),
            "application/octet-stream".to_string(),
        ];
        assert!(is_binary(&types, Some("image/png")));
        assert!(is_binary(&types, Some("application/octet-stream; q=1")));
        assert!(is_binary(&types, Some("Image/PNG")), "without case");
        assert!(is_binary(
            &["Application/Octet-Stream".to_string()],
            Some("application/octet-stream")
        ));
        assert!(!is_binary(&types, Some("text/plain")));
        assert!(is_binary(&["*/*".to_string()], Some("text/plain")));
        assert!(!is_binary(&types, None));
    }
}
