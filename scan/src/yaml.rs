//! JSON values written as YAML (`dsp scan --output yaml`), in kubectl's layout. A string is
//! written plain only when it is plainly a string to any YAML reader (it starts with a letter or
//! `/` and holds only letters, digits, spaces inside, and `_ . / ( ) -`, and is no YAML 1.1
//! boolean or null word); any other is written as a JSON string, which YAML reads the same. So
//! `yes`, `on`, `0o17`, `12:30`, `null`, `*` come back as the strings they were through a YAML
//! 1.1 reader (kubectl's; `kube_yaml` here), which the tests check.

use serde_json::Value;
use std::fmt::Write;

/// `value` as one YAML document, ending with a line break.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(map, 0, &mut out),
        Value::Array(items) if !items.is_empty() => write_list(items, 0, &mut out),
        scalar => {
            write_scalar(scalar, &mut out);
            out.push('\n');
        }
    }
    out
}

fn write_map(map: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    for (key, value) in map {
        out.extend(std::iter::repeat_n(' ', indent));
        write_string(key, out);
        out.push(':');
        write_nested(value, indent, out);
    }
}

fn write_list(items: &[Value], indent: usize, out: &mut String) {
    for item in items {
        out.extend(std::iter::repeat_n(' ', indent));
        out.push('-');
        // A collection starts on the dash's line (`- key: value`, `- - item`), the rest of it
        // under its first line.
        let mut nested = String::new();
        match item {
            Value::Object(map) if !map.is_empty() => write_map(map, indent + 2, &mut nested),
            Value::Array(items) if !items.is_empty() => write_list(items, indent + 2, &mut nested),
            scalar => {
                write_nested(scalar, indent, out);
                continue;
            }
        }
        out.push(' ');
        out.push_str(&nested[indent + 2..]);
    }
}

/// After `key:` or `-`: a scalar or an empty collection on the line, else the collection below
/// (a list under a key at the key's indentation, as kubectl writes it).
fn write_nested(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(map, indent + 2, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_list(items, indent, out);
        }
        scalar => {
            out.push(' ');
            write_scalar(scalar, out);
            out.push('\n');
        }
    }
}

fn write_scalar(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => write_string(s, out),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    const WORDS: &[&str] = &["y", "yes", "n", "no", "true", "false", "on", "off", "null"];
    let mut chars = s.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
        && chars.all(|c| c.is_ascii_alphanumeric() || " _./()-".contains(c))
        && !s.ends_with(' ')
        && !WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        out.push_str(s);
    } else {
        // JSON leaves these unescaped; YAML readers refuse them raw, or break lines at them.
        for c in serde_json::to_string(s)
            .expect("a string serializes")
            .chars()
        {
            match c {
                '\u{7f}'..='\u{9f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{feff}'
                | '\u{fffe}'
                | '\u{ffff}' => {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => out.push(c),
            }
        }
    }
}

/// Strings a YAML 1.1 reader would read as something else if written plain, or that break a
/// plain scalar: booleans and nulls of YAML 1.1, numbers in Go's syntaxes, sexagesimals and
/// dates, indicators, quotes, spaces at the ends, control and line-break characters. The tests
/// of this writer (here, and through kubectl in `harness/tests/scan.rs`) write each.
pub const AMBIGUOUS_STRINGS: &[&str] = &[
    "true",
    "yes",
    "on",
    "off",
    "Off",
    "y",
    "n",
    "Yes",
    "null",
    "NULL",
    "~",
    "~x",
    "123",
    "1e3",
    "0x1f",
    "0o17",
    "0777",
    "1_000",
    "0b11",
    "+1",
    "12:30",
    "1:30:00",
    "foo:",
    "a: b",
    "*",
    "*/agent:*",
    "- x",
    "-",
    "#x",
    "a #b",
    "",
    " x",
    "x ",
    "@x",
    "`x",
    "%x",
    "!x",
    "&x",
    ">x",
    "|x",
    "?x",
    "[x]",
    "{x}",
    "a,b",
    "'x'",
    "\"x\"",
    "x\ny",
    ".inf",
    ".5",
    "2026-12-07",
    "=",
    "<<",
    "\t",
    "/var/run/docker.sock",
    "a b",
    "é",
    "x\u{85}y",
    "\u{feff}x",
    "x\u{2028}",
    "x\u{2028}y",
    "\u{7f}",
    "\u{9f}",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_is_written_reads_back_as_kubectl_reads_it() {
        let strings = AMBIGUOUS_STRINGS;
        for &s in strings {
            let value = json!({"key": s, "list": [s], s: 1});
            let text = to_string(&value);
            let read = crate::yaml_document(&text)
                .unwrap_or_else(|e| panic!("{s:?} written as {text:?}: {e}"));
            assert_eq!(read, value, "{s:?} written as {text:?}");
        }
        let value = json!({"n": 1, "f": 1.5, "b": false, "z": null, "e": [], "o": {},
            "l": [{"a": 1, "b": [1, [2, {"c": "d"}]]}, [], {}, "x"], "m": {"k": {"j": []}}});
        let text = to_string(&value);
        assert_eq!(crate::yaml_document(&text).unwrap(), value, "{text}");
        assert_eq!(
            to_string(
                &json!({"rows": [{"kind": "Pod", "name": "a b"}], "summary": {"objects": 1}})
            ),
            "rows:\n- kind: Pod\n  name: a b\nsummary:\n  objects: 1\n"
        );
    }
}
