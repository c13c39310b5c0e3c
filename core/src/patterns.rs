//! Image patterns and paths as the settings write them: what `allowedImages` and exemption
//! rules match, and what they refuse to hold.

/// Why an image pattern (of `allowedImages` or an exemption's `images`) is refused: empty, or
/// matching every image. Whoever creates the Pod picks its image, so a pattern that names no
/// repository (`*`, `*:*`, `*/*@*`) admits anyone.
pub fn image_pattern_problem(pattern: &str) -> Option<String> {
    if pattern.trim().is_empty() {
        return Some(
            "an image pattern cannot be empty; write e.g. registry.example.com/agent:* \
             (`*` matches any run of characters)"
                .to_string(),
        );
    }
    let repository = repository_part(pattern);
    if !repository.chars().any(|c| c.is_alphanumeric()) {
        return Some(format!(
            "{pattern:?} matches every image, and whoever creates a Pod chooses its image: \
             name the repository, e.g. registry.example.com/agent:*"
        ));
    }
    None
}

/// The repository of an image reference: without its `@digest` and its `:tag` (a `:` after
/// the last `/`; one before it is a registry's port).
fn repository_part(image: &str) -> &str {
    let name = image.split_once('@').map_or(image, |(name, _)| name);
    let last = name.rfind('/').map_or(0, |slash| slash + 1);
    match name[last..].find(':') {
        Some(colon) => &name[..last + colon],
        None => name,
    }
}

/// Why a configured path with a `..` component is refused: the kernel resolves `..` after the
/// links before it (`/var/run/../x` is `/x`, since `/var/run` links to `/run`), while a
/// lexical reading gives `/var/x`; neither can be trusted to be the path meant.
pub fn dot_dot(path: &str) -> Option<String> {
    path.split(['/', '\\'])
        .any(|component| component == "..")
        .then(|| {
            format!(
                "{path:?} has a `..` component, which is ambiguous: the kernel resolves it \
                 after following links such as /var/run -> /run, so it may name another place \
                 than it reads as; write the path without `..`"
            )
        })
}

/// An image against a pattern of `allowedImages` or of an exemption's `images`: a glob
/// (`*` matches any run of characters), where a pattern ending in `:*` (any tag of a
/// repository) also matches the repository pinned by digest (`repo@sha256:...`), which is
/// the same repository at some version.
pub fn image_match(pattern: &str, image: &str) -> bool {
    if wildcard_match(pattern, image) {
        return true;
    }
    let Some(repository) = pattern.strip_suffix(":*") else {
        return false;
    };
    match image.split_once('@') {
        Some((name, digest)) => {
            is_digest(digest) && repository_part(name) == name && wildcard_match(repository, name)
        }
        None => false,
    }
}

/// `algorithm:hex`, as an image digest is written (`sha256:` and 64 hex digits).
fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    !algorithm.is_empty()
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
        && hex.len() >= 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Glob match where `*` matches any run of characters and everything else is literal.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_pattern_matches_the_same_repository_by_digest() {
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let agent = format!("gcr.io/datadoghq/agent@{digest}");
        assert!(image_match("gcr.io/datadoghq/agent:*", &agent));
        assert!(image_match(
            "gcr.io/datadoghq/agent:*",
            &format!("gcr.io/datadoghq/agent:7@{digest}")
        ));
        assert!(image_match(
            "reg:5000/agent:*",
            &format!("reg:5000/agent@{digest}")
        ));
        assert!(image_match("*/agent:*", &agent));
        // Nothing else gets looser.
        for (pattern, image) in [
            ("gcr.io/datadoghq/agent:7.*", agent.clone()),
            (
                "gcr.io/datadoghq/agent:*",
                format!("gcr.io/datadoghq/agent-evil@{digest}"),
            ),
            (
                "gcr.io/datadoghq/agent:*",
                "gcr.io/datadoghq/agent@latest".to_string(),
            ),
            (
                "gcr.io/datadoghq/agent:*",
                "gcr.io/datadoghq/agent@sha256:xyz".to_string(),
            ),
            ("gcr.io/datadoghq/agent", agent.clone()),
            (
                "gcr.io/datadoghq/agent:*",
                format!("evil.io/x@{digest}#gcr.io/datadoghq/agent"),
            ),
        ] {
            assert!(
                !image_match(pattern, &image),
                "{pattern} must not match {image}"
            );
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("reg/agent:*", "reg/agent:1.2"));
        assert!(!wildcard_match("reg/agent:*", "reg/agent-evil:1.2"));
        assert!(wildcard_match(
            "*/agent@sha256:*",
            "docker.io/x/agent@sha256:ab"
        ));
        assert!(wildcard_match("a*b*c", "abc"));
        assert!(!wildcard_match("a*b*c", "acb"));
        assert!(!wildcard_match("ab*ab", "ab"));
        assert!(wildcard_match("exact", "exact"));
        assert!(!wildcard_match("exact", "exact2"));
    }
}
