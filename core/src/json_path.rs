//! Says where in a JSON document a parse error happened, as a path like
//! `request.object.spec.volumes[0].hostPath.path`.
//!
//! A reader reports a byte offset (serde_json a line and column); rescanning the bytes before
//! that position is enough to name the field. Readers need not track paths as they go, and
//! nothing is spent unless a request is malformed.

/// A serde_json error as `path: message` (the path is omitted at the top level).
pub fn describe(raw: &[u8], error: &serde_json::Error) -> String {
    located(raw, offset(raw, error.line(), error.column()), error)
}

/// The same, for an error in `part`, a slice of `raw` that was parsed on its own: the path is
/// the one in the whole of `raw`.
pub fn describe_within(raw: &[u8], part: &[u8], error: &serde_json::Error) -> String {
    let start = (part.as_ptr() as usize).wrapping_sub(raw.as_ptr() as usize);
    if start > raw.len() {
        return describe(part, error);
    }
    let within = offset(part, error.line(), error.column());
    located(raw, start + within, error)
}

fn located(raw: &[u8], at: usize, error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = match message.rfind(" at line ") {
        Some(end) => &message[..end],
        None => message.as_str(),
    };
    // A wrong value is located by its path; a syntax error also by its line and column in
    // `raw` (serde_json's are in the text it parsed, which may be a part of `raw`).
    if error.is_data() {
        return self::at(raw, at, message);
    }
    let at = at.min(raw.len());
    let line_start = raw[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + raw[..at].iter().filter(|&&b| b == b'\n').count();
    let column = at - line_start;
    self::at(
        raw,
        at,
        &format!("{message} at line {line} column {column}"),
    )
}

/// `message` about the value at byte offset `at` of `raw`, as `path: message` (the path is
/// omitted at the top level).
pub fn at(raw: &[u8], at: usize, message: &str) -> String {
    let path = path_at(raw, at);
    if path.is_empty() {
        message.to_string()
    } else {
        format!("{path}: {message}")
    }
}

const LONGEST_PATH: usize = 160;

enum Frame<'a> {
    Object { key: Option<&'a [u8]> },
    Array { index: usize },
}

/// The path of the value being read at byte offset `end`.
fn path_at(raw: &[u8], end: usize) -> String {
    let end = end.min(raw.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        match raw[i] {
            b'"' => {
                let start = i + 1;
                i = start;
                while i < raw.len() && raw[i] != b'"' {
                    i += if raw[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object { key }) = stack.last_mut()
                    && key.is_none()
                {
                    *key = Some(&raw[start..i.min(raw.len())]);
                }
            }
            b'{' => stack.push(Frame::Object { key: None }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { key }) => *key = None,
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(key) } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&String::from_utf8_lossy(key));
            }
            Frame::Object { key: None } => {}
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
        }
        if path.len() > LONGEST_PATH {
            path.push_str("...");
            break;
        }
    }
    path
}

/// The byte offset of `line`:`column` (1-based, as serde_json counts).
fn offset(raw: &[u8], line: usize, column: usize) -> usize {
    let line_start = raw
        .split_inclusive(|&b| b == b'\n')
        .take(line.saturating_sub(1))
        .map(<[u8]>::len)
        .sum::<usize>();
    line_start + column
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        a: Inner,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        list: Vec<Item>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        name: String,
    }

    fn error(raw: &str) -> String {
        let error = serde_json::from_str::<Doc>(raw).unwrap_err();
        describe(raw.as_bytes(), &error)
    }

    #[test]
    fn names_the_field_of_a_wrong_type() {
        assert_eq!(
            error(r#"{"a":{"list":[{"name":"x"},{"name":7}]}}"#),
            "a.list[1].name: invalid type: integer `7`, expected a string"
        );
        assert_eq!(
            error("{\"a\":\n {\"list\": \"x\"}}"),
            "a.list: invalid type: string \"x\", expected a sequence"
        );
    }

    #[test]
    fn names_unknown_and_missing_fields() {
        assert!(
            error(r#"{"a":{"list":[{"nmae":"x"}]}}"#)
                .starts_with("a.list[0].nmae: unknown field `nmae`")
        );
        assert_eq!(error(r#"{"a":{}}"#), "a: missing field `list`");
    }

    #[test]
    fn skips_strings_with_escapes_and_brackets() {
        assert_eq!(
            error(r#"{"x":"a\"{[,","a":{"list":[{"name":1}]}}"#),
            "a.list[0].name: invalid type: integer `1`, expected a string"
        );
    }

    #[test]
    fn an_error_in_a_part_is_located_in_the_whole() {
        let raw = b"{\"x\":1,\n \"a\":{\"list\":[[[1]]]}}";
        let start = raw.iter().position(|&b| b == b'[').unwrap();
        let part = &raw[start..raw.len() - 2];
        let error = serde_json::from_slice::<Vec<Vec<Vec<String>>>>(part).unwrap_err();
        assert_eq!(
            describe_within(raw, part, &error),
            "a.list[0][0][0]: invalid type: integer `1`, expected a string"
        );
        let error = serde_json::from_slice::<serde::de::IgnoredAny>(&part[..4]).unwrap_err();
        assert_eq!(
            describe_within(raw, &part[..4], &error),
            "a.list[0][0][0]: EOF while parsing a list at line 2 column 17"
        );
    }

    #[test]
    fn syntax_errors_keep_their_position() {
        assert_eq!(
            error(r#"{"a":"#),
            "a: EOF while parsing a value at line 1 column 5"
        );
    }
}
