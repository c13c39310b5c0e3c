//! The YAML reader of `podSpecPatch` (YAML 1.1 as sigs.k8s.io/yaml reads it) on any text:
//! nothing panics, hangs or overflows, and what it reads, written back as JSON (which is YAML),
//! reads back the same.
#![no_main]

use docker_socket_policy::fuzzing::{Value, documents, parse};
use libfuzzer_sys::fuzz_target;

fn json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n),
        Value::String(s) => out.push_str(&serde_json::to_string(s).unwrap()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json(item, out);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).unwrap());
                out.push(':');
                json(item, out);
            }
            out.push('}');
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = documents(text);
    if let Ok(value) = parse(text) {
        let mut written = String::new();
        json(&value, &mut written);
        let again = parse(&written).unwrap_or_else(|e| panic!("{written}: {e}"));
        assert_eq!(again, value, "{written}");
    }
});
