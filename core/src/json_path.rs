//! Says where in a JSON document a parse error happened, as a path like
//! `request.object.spec.volumes[0].hostPath.path`.
//!
//! A reader reports a byte offset (serde_json a line and column); rescanning the bytes before
//! that position is enough to name the field. Readers need not track paths as they go, and
//! nothing is spent unless a request is malformed.

/// A serde_json error as `path: message` (the path is omitted at the top level): what the
/// tests compare the reader's messages with.
#[cfg(test)]
pub fn describe(raw: &[u8], error: &serde_json::Error) -> String {
    located(raw, offset(raw, error.line(), error.column()), error)
}

#[cfg(test)]
fn located(raw: &[u8], at: usize, error: &serde_json::Error) -> String {
    let message = error.to_string();
    // A wrong value is located by its path; a syntax error keeps its line and column.
    let message = match message.rfind(" at line ") {
        Some(at) if error.is_data() => &message[..at],
        _ => message.as_str(),
    };
    self::at(raw, at, message)
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
#[cfg(test)]
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
    fn syntax_errors_keep_their_position() {
        assert_eq!(
            error(r#"{"a":"#),
            "a: EOF while parsing a value at line 1 column 5"
        );
    }
}
