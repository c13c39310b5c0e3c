//! A JSON reader built for what the policy does with a request: read a few fields, skip the
//! rest.
//!
//! Through serde, each field of a typed struct passes through visitor and map-access layers,
//! and in WebAssembly (32-bit words, no SIMD) reading a 2 KB Pod that way cost more than half
//! again what serde_json takes to merely skip it. This reader checks what it skips by the same
//! grammar as serde_json (no recursion, so any depth; the fuzz target `json_grammar` compares
//! the two), scans strings eight bytes a step, and borrows the strings it reads.
//!
//! Its errors keep the position of the byte at fault: [`describe`] names the field there, says
//! a wrong type as serde does (`invalid type: string "x", expected a sequence`), and asks
//! serde_json for the wording of a syntax error, so every message reads as it did when the
//! request was read through serde.

use crate::json_path;
use std::borrow::Cow;

pub(crate) type Result<T> = std::result::Result<T, Error>;

/// What could not be read, at which byte of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error {
    at: usize,
    what: What,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum What {
    /// Not JSON: serde_json words it (see [`describe`]).
    Syntax,
    /// JSON, but not what the policy reads there.
    Data(String),
}

impl Error {
    /// The same error, for a text that starts `offset` bytes into a larger one.
    pub(crate) fn shifted(self, offset: usize) -> Error {
        Error {
            at: self.at + offset,
            ..self
        }
    }
}

/// The message for `error`, found in `text`: the path of the field it is about, then what is
/// wrong (`request.object.spec.volumes: invalid type: string "x", expected a sequence`).
pub(crate) fn describe(text: &[u8], error: &Error) -> String {
    match &error.what {
        What::Data(message) => json_path::at(text, error.at, message),
        What::Syntax => match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
            Err(serde) => json_path::describe(text, &serde),
            // The grammars differ (a bug the fuzz target looks for): still an answer.
            Ok(_) => json_path::at(text, error.at, "invalid JSON"),
        },
    }
}

/// Objects and arrays read field by field, or into a `Value`, may nest 127 deep, as in
/// serde_json; the skipped ones may nest to any depth.
const DEPTH_LIMIT: u32 = 128;

/// Reads one JSON text front to back.
pub(crate) struct Reader<'a> {
    text: &'a [u8],
    at: usize,
    depth: u32,
    /// Where the last key [`Reader::next_key`] read is written (quotes included), and whether
    /// it has escapes.
    key_span: (usize, usize, bool),
}

/// A value the reader can build.
pub(crate) trait Read<'a>: Sized {
    fn read(reader: &mut Reader<'a>) -> Result<Self>;
}

/// Reads `text` as one `T` and nothing else.
pub(crate) fn from_slice<'a, T: Read<'a>>(text: &'a [u8]) -> Result<T> {
    let mut reader = Reader {
        text,
        at: 0,
        depth: 0,
        key_span: (0, 0, false),
    };
    let value = T::read(&mut reader)?;
    match reader.peek() {
        None => Ok(value),
        Some(_) => reader.syntax(),
    }
}

/// [`from_slice`] for a text, in tests.
#[cfg(test)]
pub(crate) fn from_str<'a, T: Read<'a>>(text: &'a str) -> Result<T> {
    from_slice(text.as_bytes())
}

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Nonzero exactly when a byte of `word` is `"`, `\` or a control character, the bytes that
/// end a run of plain string content; its lowest set bit marks the first such byte.
fn string_stops(word: u64) -> u64 {
    let has = |byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x
    };
    (has(b'"') | has(b'\\') | word.wrapping_sub(ONES * 0x20)) & !word & HIGHS
}

impl<'a> Reader<'a> {
    /// The next byte after whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        while let Some(&byte) = self.text.get(self.at) {
            if !matches!(byte, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(byte);
            }
            self.at += 1;
        }
        None
    }

    fn syntax<T>(&self) -> Result<T> {
        Err(Error {
            at: self.at,
            what: What::Syntax,
        })
    }

    fn data(&self, at: usize, message: String) -> Error {
        Error {
            at,
            what: What::Data(message),
        }
    }

    /// `invalid type: ..., expected {expected}` for the value ahead, as serde words it; a
    /// syntax error if that value is not JSON.
    pub(crate) fn invalid_type(&mut self, expected: &str) -> Error {
        let Some(first) = self.peek() else {
            return self.syntax::<()>().unwrap_err();
        };
        let at = self.at;
        let found = match first {
            b'[' => "sequence".to_string(),
            b'{' => "map".to_string(),
            b'"' => match self.string() {
                Ok(text) => format!("string {text:?}"),
                Err(error) => return error,
            },
            b't' | b'f' | b'n' => match self.skip() {
                Ok(()) if first == b'n' => "null".to_string(),
                Ok(()) => format!("boolean `{}`", first == b't'),
                Err(error) => return error,
            },
            _ => match self.skip() {
                Ok(()) => {
                    // A number: serde names it by how it parses; its text is what was written.
                    let number = String::from_utf8_lossy(&self.text[at..self.at]);
                    let kind = if written_as_integer(&number) {
                        "integer"
                    } else {
                        "floating point"
                    };
                    format!("{kind} `{number}`")
                }
                Err(error) => return error,
            },
        };
        self.data(at, format!("invalid type: {found}, expected {expected}"))
    }

    /// `duplicate field `name``, for the key just read.
    pub(crate) fn duplicate(&self, name: &str) -> Error {
        self.data(self.at, format!("duplicate field `{name}`"))
    }

    /// `unknown field `key`, expected ...`, for the key just read, listing `names`.
    pub(crate) fn unknown_field(&self, names: &[&str]) -> Error {
        let (start, end, escaped) = self.key_span;
        let key = self
            .literal_text(start, end, escaped)
            .unwrap_or_else(|_| String::from_utf8_lossy(&self.text[start + 1..end - 1]));
        let expected = match names {
            [] => "there are no fields".to_string(),
            [name] => format!("expected `{name}`"),
            [first, second] => format!("expected `{first}` or `{second}`"),
            names => format!("expected one of {}", listed(names)),
        };
        self.data(self.at, format!("unknown field `{key}`, {expected}"))
    }

    /// `unknown value `value`, expected one of ...`, for the string at `at`.
    pub(crate) fn unknown_value(&self, at: usize, value: &str, names: &[&str]) -> Error {
        self.data(
            at,
            format!("unknown value `{value}`, expected one of {}", listed(names)),
        )
    }

    /// `missing field `name``, for the object just read.
    pub(crate) fn missing(&self, name: &str) -> Error {
        self.data(self.at, format!("missing field `{name}`"))
    }

    /// The string written between `start` and `end` (quotes included): borrowed unless it has
    /// escapes, an error in serde_json's words if it cannot be decoded.
    fn literal_text(&self, start: usize, end: usize, escaped: bool) -> Result<Cow<'a, str>> {
        let body = &self.text[start + 1..end - 1];
        if !escaped && let Ok(text) = std::str::from_utf8(body) {
            return Ok(Cow::Borrowed(text));
        }
        decoded(body)
            .map(Cow::Owned)
            .map_err(|message| self.data(start, message.to_string()))
    }

    /// Where the value ahead starts.
    pub(crate) fn offset(&mut self) -> usize {
        self.peek();
        self.at
    }

    /// True, and the `null` read, when the value ahead is `null`.
    pub(crate) fn null(&mut self) -> Result<bool> {
        if self.peek() != Some(b'n') {
            return Ok(false);
        }
        self.literal(b"null")?;
        Ok(true)
    }

    /// A string, borrowed unless it has escapes.
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return Err(self.invalid_type("a string"));
        }
        let start = self.at;
        self.at += 1;
        let escaped = self.string_body()?;
        self.literal_text(start, self.at, escaped)
    }

    pub(crate) fn boolean(&mut self) -> Result<bool> {
        match self.peek() {
            Some(b't') => self.literal(b"true").map(|()| true),
            Some(b'f') => self.literal(b"false").map(|()| false),
            _ => Err(self.invalid_type("a boolean")),
        }
    }

    /// Starts reading the object ahead: its keys come from [`Reader::next_key`].
    pub(crate) fn begin_object(&mut self, expected: &str) -> Result<()> {
        if self.peek() != Some(b'{') {
            return Err(self.invalid_type(expected));
        }
        self.enter()?;
        self.at += 1;
        Ok(())
    }

    /// The next key of the object being read, decoded, with its colon (`None` once the object
    /// is closed). `after_value` is false before the first key; the caller reads or skips the
    /// value.
    pub(crate) fn next_key(&mut self, after_value: &mut bool) -> Result<Option<Cow<'a, [u8]>>> {
        match (self.peek(), *after_value) {
            (Some(b'}'), _) => {
                self.at += 1;
                self.depth -= 1;
                return Ok(None);
            }
            (Some(b','), true) => self.at += 1,
            (Some(b'"'), false) => *after_value = true,
            _ => return self.syntax(),
        }
        self.key_span = self.key_and_colon()?;
        let (start, end, escaped) = self.key_span;
        let body = &self.text[start + 1..end - 1];
        if !escaped {
            return Ok(Some(Cow::Borrowed(body)));
        }
        // Decoded for matching only: a key that cannot be decoded keeps its escapes, which no
        // name has.
        let key = decoded(body).map_or_else(|_| body.to_vec(), String::into_bytes);
        Ok(Some(Cow::Owned(key)))
    }

    /// An array, each of whose items `item` reads.
    pub(crate) fn array(&mut self, mut item: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        if self.peek() != Some(b'[') {
            return Err(self.invalid_type("a sequence"));
        }
        self.enter()?;
        self.at += 1;
        if self.peek() == Some(b']') {
            self.at += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => break,
                _ => return self.syntax(),
            }
        }
        self.at += 1;
        self.depth -= 1;
        Ok(())
    }

    fn enter(&mut self) -> Result<()> {
        if self.depth + 1 == DEPTH_LIMIT {
            return Err(self.data(self.at, "recursion limit exceeded".to_string()));
        }
        self.depth += 1;
        Ok(())
    }

    /// The JSON text of the value ahead, checked.
    pub(crate) fn raw(&mut self) -> Result<&'a [u8]> {
        self.peek();
        let start = self.at;
        self.skip()?;
        Ok(&self.text[start..self.at])
    }

    /// The value ahead as a `T`, or its JSON text if it is JSON but not a `T`.
    pub(crate) fn read_or_skip<T: Read<'a>>(&mut self) -> Result<std::result::Result<T, &'a [u8]>> {
        let (start, depth) = (self.offset(), self.depth);
        match T::read(self) {
            Ok(value) => Ok(Ok(value)),
            Err(Error {
                what: What::Data(_),
                ..
            }) => {
                (self.at, self.depth) = (start, depth);
                self.raw().map(Err)
            }
            Err(error) => Err(error),
        }
    }

    /// Skips the value ahead, checking it as serde_json checks a value it ignores.
    pub(crate) fn skip(&mut self) -> Result<()> {
        // Whether each enclosing level is an object, innermost last.
        let mut levels = Levels::default();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    self.string_body()?;
                }
                Some(open @ (b'{' | b'[')) => {
                    self.at += 1;
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.at += 1;
                    } else {
                        levels.push(open == b'{');
                        if open == b'{' {
                            self.key_and_colon()?;
                        }
                        continue;
                    }
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return self.syntax(),
            }
            // A value ended: close what it ends, until a comma starts the next one.
            loop {
                let Some(object) = levels.last() else {
                    return Ok(());
                };
                match self.peek() {
                    Some(b',') => {
                        self.at += 1;
                        if object {
                            self.key_and_colon()?;
                        }
                        break;
                    }
                    Some(b'}') if object => {}
                    Some(b']') if !object => {}
                    _ => return self.syntax(),
                }
                self.at += 1;
                levels.pop();
            }
        }
    }

    /// A key and its colon: where the key is written (quotes included) and whether it has
    /// escapes. Inlined: skipping calls it for every key and uses nothing it returns.
    #[inline(always)]
    fn key_and_colon(&mut self) -> Result<(usize, usize, bool)> {
        if self.peek() != Some(b'"') {
            return self.syntax();
        }
        let start = self.at;
        self.at += 1;
        let escaped = self.string_body()?;
        let end = self.at;
        if self.peek() != Some(b':') {
            return self.syntax();
        }
        self.at += 1;
        Ok((start, end, escaped))
    }

    /// The rest of a string after its opening quote, checked (control characters, escapes);
    /// true if it has escapes. Plain content is scanned eight bytes a step.
    fn string_body(&mut self) -> Result<bool> {
        let mut escaped = false;
        loop {
            while let Some(chunk) = self.text.get(self.at..self.at + 8) {
                let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
                let stops = string_stops(word);
                if stops != 0 {
                    self.at += (stops.trailing_zeros() / 8) as usize;
                    break;
                }
                self.at += 8;
            }
            match self.text.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    self.at += 1;
                    match self.text.get(self.at) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.at += 1;
                        }
                        Some(b'u') => {
                            self.at += 1;
                            for _ in 0..4 {
                                if !self.text.get(self.at).is_some_and(u8::is_ascii_hexdigit) {
                                    return self.syntax();
                                }
                                self.at += 1;
                            }
                        }
                        _ => return self.syntax(),
                    }
                }
                Some(0x20..) => self.at += 1,
                _ => return self.syntax(),
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        if !self.text[self.at..].starts_with(word) {
            return self.syntax();
        }
        self.at += word.len();
        Ok(())
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<()> {
        let digits = |reader: &mut Self| {
            let start = reader.at;
            while reader.text.get(reader.at).is_some_and(u8::is_ascii_digit) {
                reader.at += 1;
            }
            reader.at - start
        };
        if self.text.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match self.text.get(self.at) {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return self.syntax(),
        }
        if self.text.get(self.at) == Some(&b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return self.syntax();
            }
        }
        if matches!(self.text.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.text.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return self.syntax();
            }
        }
        Ok(())
    }
}

/// A string's content with its escapes decoded (string_body has checked their form), or what
/// serde_json says of a string it cannot decode.
fn decoded(body: &[u8]) -> std::result::Result<String, &'static str> {
    let hex = |at: usize| {
        let digits = body
            .get(at..at + 4)
            .and_then(|digits| std::str::from_utf8(digits).ok());
        digits.and_then(|digits| u32::from_str_radix(digits, 16).ok())
    };
    let mut out = Vec::with_capacity(body.len());
    let mut at = 0;
    while let Some(&byte) = body.get(at) {
        at += 1;
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let escape = body.get(at).copied().unwrap_or_default();
        at += 1;
        let simple = match escape {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => 0,
            other => other,
        };
        if escape != b'u' {
            out.push(simple);
            continue;
        }
        let unit = hex(at).ok_or("invalid escape")?;
        at += 4;
        let code = match unit {
            0xDC00..=0xDFFF => return Err("lone leading surrogate in hex escape"),
            0xD800..=0xDBFF => {
                if body.get(at..at + 2) != Some(b"\\u") {
                    return Err("unexpected end of hex escape");
                }
                let low = hex(at + 2).ok_or("invalid escape")?;
                at += 6;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err("lone leading surrogate in hex escape");
                }
                0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            }
            unit => unit,
        };
        let c = char::from_u32(code).ok_or("invalid unicode code point")?;
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    }
    String::from_utf8(out).map_err(|_| "invalid unicode code point")
}

/// A number without a fraction or an exponent, which serde_json reads as an integer if it fits.
fn written_as_integer(number: &str) -> bool {
    !number.contains(['.', 'e', 'E'])
}

/// Names as serde lists them: `` `a`, `b`, `c` ``.
fn listed(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    names.join(", ")
}

/// A stack of bits: sixty-four levels in a word, deeper ones spilled to the heap.
#[derive(Default)]
struct Levels {
    bits: u64,
    len: u32,
    spilled: Vec<u64>,
}

impl Levels {
    fn push(&mut self, bit: bool) {
        if self.len == 64 {
            self.spilled.push(self.bits);
            self.len = 0;
        }
        self.bits = self.bits << 1 | u64::from(bit);
        self.len += 1;
    }

    fn last(&self) -> Option<bool> {
        (self.len > 0).then_some(self.bits & 1 == 1)
    }

    fn pop(&mut self) {
        self.bits >>= 1;
        self.len -= 1;
        if self.len == 0
            && let Some(bits) = self.spilled.pop()
        {
            self.bits = bits;
            self.len = 64;
        }
    }
}

impl<'a> Read<'a> for Cow<'a, str> {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        reader.string()
    }
}

impl<'a> Read<'a> for String {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        reader.string().map(Cow::into_owned)
    }
}

impl<'a> Read<'a> for bool {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        reader.boolean()
    }
}

/// `null` is `None`.
impl<'a, T: Read<'a>> Read<'a> for Option<T> {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        if reader.null()? {
            return Ok(None);
        }
        T::read(reader).map(Some)
    }
}

impl<'a, T: Read<'a>> Read<'a> for Box<T> {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        T::read(reader).map(Box::new)
    }
}

impl<'a, T: Read<'a>> Read<'a> for Vec<T> {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        let mut items = Vec::new();
        reader.array(|reader| {
            items.push(T::read(reader)?);
            Ok(())
        })?;
        Ok(items)
    }
}

/// A whole value, for the paths that edit or compare the object as JSON. Built here rather than
/// by serde_json's deserializer, whose typed error paths bring float formatting and about 60 KB
/// into the module. It reads as serde_json reads a `Value` (tests compare the two), except that
/// a float is the nearest `f64` to its text, so that the mutated object gives back every number
/// as it was written (serde_json without its `float_roundtrip` feature can be an ulp off).
impl<'a> Read<'a> for serde_json::Value {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        use serde_json::Value;
        let Some(first) = reader.peek() else {
            return reader.syntax();
        };
        Ok(match first {
            b'{' => {
                reader.begin_object("a map")?;
                let mut map = serde_json::Map::new();
                let mut after_value = false;
                while reader.next_key(&mut after_value)?.is_some() {
                    let (start, end, escaped) = reader.key_span;
                    let key = reader.literal_text(start, end, escaped)?.into_owned();
                    map.insert(key, Value::read(reader)?);
                }
                Value::Object(map)
            }
            b'[' => Value::Array(Vec::read(reader)?),
            b'"' => Value::String(String::read(reader)?),
            b't' | b'f' => Value::Bool(reader.boolean()?),
            b'n' => {
                reader.literal(b"null")?;
                Value::Null
            }
            _ => {
                let at = reader.offset();
                reader.number()?;
                let text = std::str::from_utf8(&reader.text[at..reader.at]).unwrap_or_default();
                Value::Number(
                    number(text)
                        .ok_or_else(|| reader.data(at, "number out of range".to_string()))?,
                )
            }
        })
    }
}

/// A JSON number as serde_json reads it: an integer that fits in 64 bits as one, any other
/// as the nearest `f64` (`-0` too), out of range if that is infinite.
fn number(text: &str) -> Option<serde_json::Number> {
    let integer = written_as_integer(text);
    if integer && let Ok(n) = text.parse::<u64>() {
        return Some(n.into());
    }
    if integer
        && text != "-0"
        && let Ok(n) = text.parse::<i64>()
    {
        return Some(n.into());
    }
    serde_json::Number::from_f64(text.parse::<f64>().ok()?)
}

/// Any value, of which only its presence matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Present;

impl<'a> Read<'a> for Present {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        reader.skip().map(|()| Present)
    }
}

/// A value kept as its JSON text, checked, to be read later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raw<'a>(pub(crate) &'a [u8]);

impl<'a> Read<'a> for Raw<'a> {
    fn read(reader: &mut Reader<'a>) -> Result<Self> {
        reader.raw().map(Raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn skipped(text: &[u8]) -> Result<()> {
        from_slice::<Present>(text).map(drop)
    }

    fn serde_accepts(text: &[u8]) -> bool {
        serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
    }

    #[test]
    fn skips_what_serde_json_accepts_and_only_that() {
        for text in [
            &br#"{"a":[1,-0.5e+3,true,false,null,"s\"\\\/\b\f\n\r\t\u00e9"],"":{}}"#[..],
            b" [ ] ",
            b"\"\xff\xfe\"",
            b"0",
            b"-0",
            b"1E9",
            br#"{"k":"\ud800"}"#,
        ] {
            assert!(serde_accepts(text), "{}", String::from_utf8_lossy(text));
            assert_eq!(skipped(text), Ok(()), "{}", String::from_utf8_lossy(text));
        }
        for text in [
            &b""[..],
            b"{",
            b"[1,]",
            b"{\"a\":1,}",
            b"{\"a\"}",
            b"{1:2}",
            b"01",
            b"1.",
            b"1e",
            b"-",
            b".5",
            b"tru",
            b"nul",
            b"\"a",
            b"\"\\x\"",
            b"\"\\u12g4\"",
            b"\"a\x01\"",
            b"[1 2]",
            b"{} {}",
            b"\xff",
        ] {
            assert!(!serde_accepts(text), "{}", String::from_utf8_lossy(text));
            assert!(skipped(text).is_err(), "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn scans_long_strings_a_word_at_a_time_and_misses_no_byte() {
        for at in 0..24 {
            for (byte, valid) in [
                (b'\x01', false),
                (b'\x1f', false),
                (b'"', false),
                (0x7f, true),
            ] {
                let mut text = b"\"abcdefghijklmnopqrstuvwxyz\"".to_vec();
                text[1 + at] = byte;
                let text = &text[..];
                assert_eq!(
                    skipped(text).is_ok(),
                    valid,
                    "{}",
                    String::from_utf8_lossy(text)
                );
                assert_eq!(serde_accepts(text), valid);
            }
            let mut escaped = b"\"abcdefghijklmnopqrstuvwxyz\"".to_vec();
            escaped.splice(1 + at..1 + at, *b"\\\"");
            assert_eq!(skipped(&escaped), Ok(()));
        }
    }

    #[test]
    fn skips_any_depth_without_recursion() {
        let depth = 200_000;
        let text = format!("{}0{}", "[{\"a\":".repeat(depth), "}]".repeat(depth));
        assert_eq!(skipped(text.as_bytes()), Ok(()));
        let unbalanced = format!("{}{}", "[".repeat(depth), "]".repeat(depth - 1));
        assert!(skipped(unbalanced.as_bytes()).is_err());
    }

    #[test]
    fn reading_field_by_field_stops_at_serde_json_depth() {
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        #[derive(Debug)]
        struct Nested;
        impl<'a> Read<'a> for Nested {
            fn read(reader: &mut Reader<'a>) -> Result<Self> {
                reader.array(|reader| Nested::read(reader).map(drop))?;
                Ok(Nested)
            }
        }
        let error = from_slice::<Nested>(text.as_bytes()).unwrap_err();
        assert_eq!(error.at, 127);
        let message = describe(text.as_bytes(), &error);
        assert!(
            message.ends_with("...: recursion limit exceeded"),
            "{message}"
        );
    }

    #[test]
    fn wrong_types_read_as_serde_words_them() {
        for (text, message) in [
            (
                r#"["a",7]"#,
                "[1]: invalid type: integer `7`, expected a string",
            ),
            (
                r#"["a",-1.5e3]"#,
                "[1]: invalid type: floating point `-1.5e3`, expected a string",
            ),
            ("[null]", "[0]: invalid type: null, expected a string"),
            (
                "[true]",
                "[0]: invalid type: boolean `true`, expected a string",
            ),
            (r#"[{"a":1}]"#, "[0]: invalid type: map, expected a string"),
            (r#"{"a":1}"#, "invalid type: map, expected a sequence"),
            (
                r#""q\"\u00e9""#,
                r#"invalid type: string "q\"é", expected a sequence"#,
            ),
        ] {
            let error = from_slice::<Vec<Cow<str>>>(text.as_bytes()).unwrap_err();
            assert_eq!(describe(text.as_bytes(), &error), message);
        }
    }

    #[test]
    fn syntax_errors_are_worded_by_serde_json() {
        let error = |text: &[u8]| {
            let error = from_slice::<Vec<Cow<str>>>(text).unwrap_err();
            describe(text, &error)
        };
        assert_eq!(
            error(b"[\"a\","),
            "[1]: EOF while parsing a value at line 1 column 5"
        );
        assert_eq!(
            error(b"[\"a\"\n  x]"),
            "[0]: expected `,` or `]` at line 2 column 3"
        );
        assert_eq!(error(b"[] 1"), "trailing characters at line 1 column 4");
        // Strings that are read are checked as serde_json checks them.
        assert_eq!(error(br#"["\ud800"]"#), "[0]: unexpected end of hex escape");
        assert_eq!(error(b"[\"\xff\"]"), "[0]: invalid unicode code point");
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        let strings: Vec<Cow<str>> =
            from_slice(br#"["plain text longer than eight bytes", "\u00e9\n", ""]"#).unwrap();
        assert!(matches!(
            strings[0],
            Cow::Borrowed("plain text longer than eight bytes")
        ));
        assert!(matches!(&strings[1], Cow::Owned(text) if text == "é\n"));
        assert!(matches!(strings[2], Cow::Borrowed("")));
    }

    proptest! {
        /// Strings read with escapes decode as serde_json decodes them, or fail with its words.
        #[test]
        fn strings_decode_as_serde_json_decodes_them(
            pieces in prop::collection::vec(prop::sample::select(vec![
                "a", "é", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
                "\\u0041", "\\u00e9", "\\ud83d", "\\ude00", "\\ud83d\\ude00", "\\ud800x",
                "\\uD800\\u0041", "\u{1f600}",
            ]), 0..8),
            invalid_utf8 in any::<bool>(),
        ) {
            let mut literal = format!("\"{}\"", pieces.concat()).into_bytes();
            if invalid_utf8 {
                literal.insert(1, 0xff);
            }
            let ours = from_slice::<Cow<str>>(&literal).map_err(|e| describe(&literal, &e));
            let serde = serde_json::from_slice::<String>(&literal).map_err(|e| {
                e.to_string().split(" at line ").next().unwrap_or_default().to_string()
            });
            prop_assert_eq!(ours.map(Cow::into_owned), serde, "{}", String::from_utf8_lossy(&literal));
        }
    }

    /// JSON-like text from pieces that JSON is made of, valid or not.
    fn jsonish() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            " ",
            "\n",
            "\"",
            "\"k\"",
            "\"a b\"",
            "\\",
            "\\\"",
            "\\u00e9",
            "\\u12",
            "\\x",
            "0",
            "-",
            "12",
            ".5",
            "e3",
            "E-2",
            "true",
            "fals",
            "null",
            "\u{1}",
            "é",
            "\"\\ud800\"",
            "plain text",
            "\u{1f}",
        ]);
        prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat().into_bytes())
    }

    /// A value, and the JSON text serde_json writes for it (with whitespace).
    fn json_text() -> impl Strategy<Value = (serde_json::Value, Vec<u8>)> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            ".{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map(".{0,6}", inner, 0..6)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
        .prop_map(|value| {
            let text = serde_json::to_vec_pretty(&value).unwrap();
            (value, text)
        })
    }

    #[test]
    fn values_read_as_serde_json_reads_them() {
        for text in [
            &br#"{"a":[1,-2,3.5,-0,-0.0,1e3,1E-7,18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809,0.1,2.5e-308],"b":{"c":null,"d":true,"e":"\u00e9\n"},"a":"dup","":[]}"#[..],
            b"12345678901234567890123",
            b"1e400",
            b"-1e400",
            br#""\ud800""#,
            b"\"\xff\"",
        ] {
            let ours = from_slice::<serde_json::Value>(text).map_err(|e| describe(text, &e));
            let serde = serde_json::from_slice::<serde_json::Value>(text)
                .map_err(|e| json_path::describe(text, &e).split(" at line ").next().unwrap().to_string());
            assert_eq!(ours, serde, "{}", String::from_utf8_lossy(text));
        }
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        for depth in [126, 127, 128] {
            let text = nested(depth);
            let ours = from_slice::<serde_json::Value>(text.as_bytes()).is_ok();
            let serde = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            assert_eq!(ours, serde, "depth {depth}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn skips_exactly_what_serde_json_accepts(text in jsonish()) {
            prop_assert_eq!(
                skipped(&text).is_ok(),
                serde_accepts(&text),
                "{}",
                String::from_utf8_lossy(&text)
            );
        }

        #[test]
        fn skips_valid_json_and_finds_the_error_serde_json_finds(
            (value, text) in json_text(),
            cut in any::<prop::sample::Index>(),
        ) {
            prop_assert_eq!(skipped(&text), Ok(()));
            // A value reads back as it was written, floats included (serde_json's own reader,
            // without its float_roundtrip feature, can be an ulp off).
            prop_assert_eq!(from_slice::<serde_json::Value>(&text), Ok(value));
            // Cut short, the text is not JSON (or a shorter number): both readers agree.
            let short = &text[..cut.index(text.len())];
            prop_assert_eq!(skipped(short).is_ok(), serde_accepts(short));
            if let Err(error) = skipped(short) {
                let serde = serde_json::from_slice::<serde::de::IgnoredAny>(short).unwrap_err();
                prop_assert_eq!(describe(short, &error), json_path::describe(short, &serde));
            }
        }
    }
}
