//! YAML read the way Kubernetes tools read it. sigs.k8s.io/yaml (kubectl, Argo Workflows'
//! `podSpecPatch`) decodes YAML with go-yaml v2 (YAML 1.1) into Go values, turns their map keys
//! into strings and writes the result with encoding/json. An attacker who can write YAML will try
//! to hide a key such as `hostPath` from the policy with YAML features, so this module sees what
//! go-yaml v2 sees, and refuses (fails closed) what it cannot read the same way.
//!
//! yaml-rust2's event parser supplies the structure; the tree, the tags, the YAML 1.1 resolution
//! of plain scalars, anchors, merge keys and duplicate keys follow go-yaml v2 here. yaml-rust2
//! reads YAML 1.2, which tokenizes a few things differently from go-yaml's libyaml scanner; those
//! inputs are refused before parsing (`check_text`, `check_tokens`), and a differential run
//! against libyaml found no other input that both accept with different events.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::rc::Rc;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, Scanner, TScalarStyle, Token, TokenType};

/// Deeper nesting is refused (Kubernetes objects nest a few dozen levels at most).
const MAX_DEPTH: usize = 1000;
/// The nodes of a document once aliases are expanded: the bound on alias bombs.
const MAX_NODES: usize = 1_000_000;
/// The scalar bytes of a document once aliases are expanded.
const MAX_BYTES: usize = 64 << 20;
const YAML_TAG: &str = "tag:yaml.org,2002:";

/// A value as sigs.k8s.io/yaml hands it on as JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// JSON number text, as encoding/json writes it.
    Number(String),
    String(String),
    Array(Vec<Value>),
    /// Keys in document order. A duplicate key replaces the earlier value in place, as go-yaml v2
    /// does into `map[interface{}]interface{}`.
    Object(Vec<(String, Value)>),
}

/// One document of a YAML stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub value: Value,
    /// 1-based line where the document starts.
    pub line: usize,
}

/// What cannot be read, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for Error {}

impl Error {
    fn at(mark: Marker, message: impl Into<String>) -> Error {
        Error {
            line: mark.line(),
            column: mark.col() + 1,
            message: message.into(),
        }
    }
}

fn scan_error(e: ScanError) -> Error {
    Error::at(*e.marker(), e.info())
}

/// The documents of a YAML stream. An empty document (only `---`, only comments, an empty text)
/// is `Value::Null`, as sigs.k8s.io/yaml gives `null`.
pub fn documents(text: &str) -> Result<Vec<Document>, Error> {
    // go-yaml skips a byte order mark at the start of the text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_text(text)?;
    check_tokens(text)?;
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    loop {
        match parser.next_token().map_err(scan_error)? {
            (Event::StreamEnd, _) => break,
            (Event::DocumentStart, mark) => docs.push(Document {
                value: read_document(&mut parser, mark)?,
                line: mark.line(),
            }),
            _ => {}
        }
    }
    if docs.is_empty() {
        docs.push(Document {
            value: Value::Null,
            line: 1,
        });
    }
    Ok(docs)
}

/// Exactly one document, what a `podSpecPatch` is. sigs.k8s.io/yaml would read the first
/// document and ignore the rest; more than one is refused, so that nothing hides after it.
pub fn parse(text: &str) -> Result<Value, Error> {
    let mut docs = documents(text)?;
    if let Some(second) = docs.get(1) {
        return Err(Error {
            line: second.line,
            column: 1,
            message: format!("{} YAML documents where one is expected", docs.len()),
        });
    }
    Ok(docs.pop().map_or(Value::Null, |d| d.value))
}

/// Refuses characters the two readers do not agree on: go-yaml's reader rejects control
/// characters; U+0085, U+2028 and U+2029 are line breaks in YAML 1.1 but not for yaml-rust2;
/// go-yaml skips a byte order mark at the start of any line, yaml-rust2 reads it as text.
fn check_text(text: &str) -> Result<(), Error> {
    let (mut line, mut column) = (1, 1);
    let mut after_cr = false;
    for c in text.chars() {
        let message = match c {
            '\u{85}' | '\u{2028}' | '\u{2029}' => {
                Some("line breaks other than CR and LF are not supported")
            }
            '\u{feff}' => Some("a byte order mark inside the text is not supported"),
            '\t' | '\n' | '\r' | ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' => {
                None
            }
            c if c >= '\u{10000}' => None,
            _ => Some("control characters are not allowed"),
        };
        if let Some(message) = message {
            return Err(Error {
                line,
                column,
                message: format!("{message} (U+{:04X})", c as u32),
            });
        }
        match c {
            '\n' if after_cr => {}
            '\n' | '\r' => (line, column) = (line + 1, 1),
            _ => column += 1,
        }
        after_cr = c == '\r';
    }
    Ok(())
}

/// A plain scalar of a flow collection that go-yaml's scanner splits where yaml-rust2's does not.
fn ambiguous_in_flow(scalar: &str) -> bool {
    let mut chars = scalar.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('?', _) => return true,
            (':', None) => return true,
            (':', Some(next)) if ",?[]{}".contains(*next) => return true,
            _ => {}
        }
    }
    false
}

/// Runs yaml-rust2's scanner over the text first and refuses the tokens that go-yaml's scanner
/// reads differently. A scanning error is left for the parser to report.
fn check_tokens(text: &str) -> Result<(), Error> {
    // Tags are checked against the text after them: (line, column) marks index `chars`.
    let chars: Vec<char> = text.chars().collect();
    let mut line_starts = vec![0];
    for (i, &c) in chars.iter().enumerate() {
        if c == '\n' || (c == '\r' && chars.get(i + 1) != Some(&'\n')) {
            line_starts.push(i + 1);
        }
    }
    let mut flow = 0usize;
    // The last token was a block scalar: whether it reads differently at the end of the text.
    let mut last_block_scalar = None;
    for Token(mark, token) in Scanner::new(text.chars()) {
        let refuse = |message: &str| Err(Error::at(mark, message));
        match &token {
            TokenType::StreamEnd => {
                // At the end of the text yaml-rust2 gives a block scalar a line break that
                // libyaml does not: after a last line without one, or when it has no content.
                let no_break = !text.ends_with(['\n', '\r']);
                if last_block_scalar.is_some_and(|only_breaks| only_breaks || no_break) {
                    return refuse(
                        "a block scalar that ends the text needs content and a line break",
                    );
                }
                break;
            }
            TokenType::FlowSequenceStart | TokenType::FlowMappingStart => flow += 1,
            TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd => flow = flow.saturating_sub(1),
            // In a flow collection go-yaml ends a plain scalar at `?` (`{?hostPath: ...}` is the
            // key hostPath), and at a `:` before one of `,?[]{}`; yaml-rust2 reads them as one
            // scalar. A `:` before anything else stays in the scalar for both, as kubectl reads
            // `{image: quay.io/x:v1}`.
            TokenType::Scalar(TScalarStyle::Plain, v) if flow > 0 && ambiguous_in_flow(v) => {
                return refuse(
                    "a plain scalar inside [] or {} with '?', or with ':' before one of ,?[]{} \
                     or at its end, must be quoted",
                );
            }
            // go-yaml keeps a `:` before one of `,?[]{}` in the plain scalar it ends (`[a:,b]` is
            // `["a:", "b"]`); yaml-rust2 reads a key there (`[{a: null}, b]`).
            TokenType::Value if flow > 0 => {
                let at = line_starts
                    .get(mark.line().wrapping_sub(1))
                    .map(|start| start + mark.col());
                let before = at
                    .and_then(|at| at.checked_sub(1))
                    .and_then(|i| chars.get(i));
                let after = at.and_then(|at| chars.get(at + 1));
                let plain_before =
                    before.is_some_and(|c| !c.is_whitespace() && !"\"'[]{},".contains(*c));
                if plain_before && after.is_some_and(|c| ",?[]{}".contains(*c)) {
                    return refuse(
                        "a plain scalar inside [] or {} with ':' before one of ,?[]{} must be \
                         quoted",
                    );
                }
            }
            // go-yaml's anchor names are [0-9A-Za-z_-]; yaml-rust2 takes any non-space (`&a:b`).
            TokenType::Anchor(name) | TokenType::Alias(name)
                if !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                return refuse("anchor names may only use letters, digits, '_' and '-'");
            }
            // go-yaml's tags take `,[]` and need a space after them; yaml-rust2 ends a tag at a
            // flow indicator (`[!!str,x]`).
            TokenType::Tag(..) => {
                let start = line_starts
                    .get(mark.line().wrapping_sub(1))
                    .map(|s| s + mark.col());
                let mut end = start.unwrap_or(chars.len()) + 1;
                if chars.get(end) == Some(&'<') {
                    while end < chars.len() && chars[end] != '>' {
                        end += 1;
                    }
                    end += 1;
                }
                while end < chars.len() && !" \t\r\n,[]{}".contains(chars[end]) {
                    end += 1;
                }
                let at_bang = start.and_then(|s| chars.get(s)) == Some(&'!');
                if !at_bang || chars.get(end).is_some_and(|c| ",[]{}".contains(*c)) {
                    return refuse("a tag must be followed by a space");
                }
            }
            TokenType::TagDirective(..) => return refuse("%TAG directives are not supported"),
            // go-yaml v2 reads YAML 1.1 documents only.
            TokenType::VersionDirective(major, minor) if (*major, *minor) != (1, 1) => {
                return refuse("found incompatible YAML document (only %YAML 1.1 is read)");
            }
            _ => {}
        }
        if token != TokenType::BlockEnd {
            last_block_scalar = match &token {
                TokenType::Scalar(TScalarStyle::Literal | TScalarStyle::Folded, v) => {
                    Some(!v.is_empty() && v.bytes().all(|b| b == b'\n'))
                }
                _ => None,
            };
        }
    }
    Ok(())
}

/// A node as go-yaml v2 decodes it into `interface{}`. Nodes are shared, so that an alias costs
/// nothing until the JSON value is written out.
struct Node {
    mark: Marker,
    kind: Kind,
}

impl Drop for Node {
    /// Iterative: the recursive drop of a tree nested `MAX_DEPTH` deep would need more stack
    /// than the module has.
    fn drop(&mut self) {
        let mut stack = Vec::new();
        take_children(&mut self.kind, &mut stack);
        while let Some(child) = stack.pop() {
            if let Ok(mut node) = Rc::try_unwrap(child) {
                take_children(&mut node.kind, &mut stack);
            }
        }
    }
}

fn take_children(kind: &mut Kind, stack: &mut Vec<Rc<Node>>) {
    match kind {
        Kind::Seq(items) => stack.append(items),
        Kind::Map(entries) => stack.extend(entries.drain(..).flat_map(|(k, v)| [k, v])),
        _ => {}
    }
}

enum Kind {
    Null,
    Bool(bool),
    /// Go's `int`.
    Int(i64),
    /// Go's `uint64`: integers above `i64::MAX`.
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>),
}

/// A Go map key's identity: equal keys replace each other. NaN has none (it never equals itself)
/// and -0.0 equals 0.0, as in Go.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum KeyId {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(u64),
    Str(String),
}

fn key_id(node: &Node) -> Option<KeyId> {
    Some(match &node.kind {
        Kind::Null => KeyId::Null,
        Kind::Bool(b) => KeyId::Bool(*b),
        Kind::Int(i) => KeyId::Int(*i),
        Kind::Uint(u) => KeyId::Uint(*u),
        Kind::Float(f) if f.is_nan() => return None,
        Kind::Float(f) => KeyId::Float(if *f == 0.0 { 0 } else { f.to_bits() }),
        Kind::Str(s) => KeyId::Str(s.clone()),
        Kind::Seq(_) | Kind::Map(_) => return None,
    })
}

/// What a node costs: `nodes`, `bytes` and `depth` once aliases are expanded (the limits), and
/// `decodes`, the calls go-yaml makes to decode it (its alias ratio check).
#[derive(Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
    depth: usize,
    decodes: u64,
}

impl Size {
    fn scalar(bytes: usize) -> Size {
        Size {
            nodes: 1,
            bytes,
            depth: 0,
            decodes: 1,
        }
    }
}

enum Open {
    Seq(Vec<Rc<Node>>),
    Map {
        entries: Vec<(Rc<Node>, Rc<Node>)>,
        index: BTreeMap<KeyId, usize>,
        /// `None` before a key, `Some(None)` after a merge key `<<`.
        key: Option<Option<Rc<Node>>>,
    },
}

struct Frame {
    open: Open,
    mark: Marker,
    anchor: usize,
    size: Size,
}

#[derive(Default)]
struct Builder {
    frames: Vec<Frame>,
    anchors: HashMap<usize, (Rc<Node>, Size)>,
    nodes: usize,
    bytes: usize,
    decodes: u64,
    aliased: u64,
}

impl Builder {
    /// Counts a node against the limits, and go-yaml's decode calls: go-yaml refuses a document
    /// whose decoding is mostly alias expansion ("excessive aliasing").
    fn count(&mut self, size: Size, aliased: u64, mark: Marker) -> Result<(), Error> {
        self.nodes += size.nodes;
        self.bytes += size.bytes;
        self.decodes += size.decodes;
        self.aliased += aliased;
        if self.nodes > MAX_NODES || self.bytes > MAX_BYTES {
            return Err(Error::at(
                mark,
                format!("the document expands to more than {MAX_NODES} nodes or {MAX_BYTES} bytes"),
            ));
        }
        let (a, d) = (self.aliased as f64, self.decodes as f64);
        let allowed = match self.decodes {
            0..=400_000 => 0.99,
            4_000_000.. => 0.10,
            n => 0.99 - 0.89 * ((n - 400_000) as f64 / 3_600_000.0),
        };
        if self.aliased > 100 && self.decodes > 1000 && a / d > allowed {
            return Err(Error::at(mark, "document contains excessive aliasing"));
        }
        Ok(())
    }

    /// Whether the next node is a mapping key.
    fn expects_key(&self) -> bool {
        matches!(
            self.frames.last(),
            Some(Frame {
                open: Open::Map { key: None, .. },
                ..
            })
        )
    }

    fn open(&mut self, open: Open, mark: Marker, anchor: usize) -> Result<(), Error> {
        if self.frames.len() >= MAX_DEPTH {
            return Err(Error::at(
                mark,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        // go-yaml does not decode the sequence that holds the mappings of a merge key.
        let merge = matches!(
            self.frames.last(),
            Some(Frame {
                open: Open::Map {
                    key: Some(None),
                    ..
                },
                ..
            })
        );
        let decodes = u64::from(!merge);
        let size = Size {
            nodes: 1,
            decodes,
            ..Size::default()
        };
        self.count(size, 0, mark)?;
        self.frames.push(Frame {
            open,
            mark,
            anchor,
            size,
        });
        Ok(())
    }

    fn close(&mut self, mark: Marker) -> Result<Option<Rc<Node>>, Error> {
        let Some(Frame {
            open,
            mark,
            anchor,
            mut size,
        }) = self.frames.pop()
        else {
            return Err(Error::at(mark, "unbalanced collection end"));
        };
        size.depth += 1;
        let kind = match open {
            Open::Seq(items) => Kind::Seq(items),
            Open::Map { entries, .. } => Kind::Map(entries),
        };
        self.add(Rc::new(Node { mark, kind }), size, anchor, false)
    }

    /// Adds a finished node to the open collection, or returns it when it is the document.
    fn add(
        &mut self,
        node: Rc<Node>,
        size: Size,
        anchor: usize,
        alias: bool,
    ) -> Result<Option<Rc<Node>>, Error> {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        let Some(frame) = self.frames.last_mut() else {
            return Ok(Some(node));
        };
        frame.size.nodes += size.nodes;
        frame.size.bytes += size.bytes;
        frame.size.depth = frame.size.depth.max(size.depth);
        frame.size.decodes += size.decodes;
        let mark = node.mark;
        let merged = match &mut frame.open {
            Open::Seq(items) => {
                items.push(node);
                false
            }
            Open::Map { key: None, .. } if matches!(node.kind, Kind::Seq(_) | Kind::Map(_)) => {
                return Err(Error::at(mark, "invalid map key: a mapping or a sequence"));
            }
            Open::Map {
                key: key @ None, ..
            } => {
                *key = Some(Some(node));
                false
            }
            Open::Map {
                entries,
                index,
                key,
            } => {
                if let Some(Some(k)) = key.take() {
                    insert(entries, index, k, node);
                    false
                } else if alias && !matches!(node.kind, Kind::Map(_)) {
                    // go-yaml wants an alias after `<<` to name a mapping, not a sequence.
                    return Err(Error::at(mark, WANT_MAP));
                } else {
                    merge(entries, index, &node)?;
                    true
                }
            }
        };
        if merged {
            // The merged entries appear a second time in the expanded document.
            self.count(Size { decodes: 0, ..size }, 0, mark)?;
        }
        Ok(None)
    }
}

const WANT_MAP: &str = "map merge requires map or sequence of maps as the value";

/// Sets a key as a Go map does: an equal key replaces the entry (here in place), NaN never does.
fn insert(
    entries: &mut Vec<(Rc<Node>, Rc<Node>)>,
    index: &mut BTreeMap<KeyId, usize>,
    key: Rc<Node>,
    value: Rc<Node>,
) {
    match key_id(&key) {
        Some(id) => match index.get(&id) {
            Some(&i) => entries[i] = (key, value),
            None => {
                index.insert(id, entries.len());
                entries.push((key, value));
            }
        },
        None => entries.push((key, value)),
    }
}

/// go-yaml v2's merge key: the value is a mapping, or a sequence of mappings of which the earlier
/// win. It decodes the merged entries into the mapping where `<<` stands, so keys written before
/// `<<` are overwritten by merged ones and keys after it overwrite them.
fn merge(
    entries: &mut Vec<(Rc<Node>, Rc<Node>)>,
    index: &mut BTreeMap<KeyId, usize>,
    value: &Rc<Node>,
) -> Result<(), Error> {
    let maps = match &value.kind {
        Kind::Seq(items) => items.iter().rev().collect(),
        _ => vec![value],
    };
    for map in maps {
        let Kind::Map(merged) = &map.kind else {
            return Err(Error::at(map.mark, WANT_MAP));
        };
        for (k, v) in merged {
            insert(entries, index, k.clone(), v.clone());
        }
    }
    Ok(())
}

/// Reads the events of one document, after its `DocumentStart`.
fn read_document<T: Iterator<Item = char>>(
    parser: &mut Parser<T>,
    start: Marker,
) -> Result<Value, Error> {
    to_value(&*read_document_node(parser, start)?)
}

/// A step of the way to a value: a mapping's key or a sequence's index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Where the value at `path` of document `document` (from 1, as [`documents`] counts them) is
/// written in `text`: the line and column (from 1, in characters) of its key, or of the value
/// itself for a sequence item or an empty path. A merged or aliased value is where it was
/// written. `None` when the text cannot be read or has no such value.
pub fn locate(text: &str, document: usize, path: &[Step]) -> Option<(usize, usize)> {
    locate_all(text, &[(document, path)]).pop().flatten()
}

/// [`locate`] for many values, reading the text once.
pub fn locate_all(text: &str, wanted: &[(usize, &[Step])]) -> Vec<Option<(usize, usize)>> {
    let mut found = vec![None; wanted.len()];
    let Some(last) = wanted.iter().map(|(document, _)| *document).max() else {
        return found;
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser::new_from_str(text);
    let mut count = 0;
    while count < last {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) | Err(_) => break,
            Ok((Event::DocumentStart, mark)) => {
                count += 1;
                let Ok(root) = read_document_node(&mut parser, mark) else {
                    break;
                };
                for (i, (_, path)) in wanted.iter().enumerate().filter(|(_, w)| w.0 == count) {
                    found[i] = walk(&root, path);
                }
            }
            Ok(_) => {}
        }
    }
    found
}

fn walk(root: &Node, path: &[Step]) -> Option<(usize, usize)> {
    let mut node = root;
    let mut at = root.mark;
    for step in path {
        match (step, &node.kind) {
            (Step::Key(key), Kind::Map(entries)) => {
                let (k, v) = entries
                    .iter()
                    .rev()
                    .find(|(k, _)| key_string(k).is_ok_and(|k| k == *key))?;
                at = k.mark;
                node = v;
            }
            (Step::Index(i), Kind::Seq(items)) => {
                node = items.get(*i)?;
                at = node.mark;
            }
            _ => return None,
        }
    }
    Some((at.line(), at.col() + 1))
}

/// [`read_document`]'s tree, before it is written as a value.
fn read_document_node<T: Iterator<Item = char>>(
    parser: &mut Parser<T>,
    start: Marker,
) -> Result<Rc<Node>, Error> {
    let mut b = Builder::default();
    let one = Size {
        nodes: 0,
        decodes: 1,
        ..Size::default()
    };
    b.count(one, 0, start)?; // the document node
    let mut root = None;
    loop {
        let (event, mark) = parser.next_token().map_err(scan_error)?;
        let done = match event {
            Event::DocumentEnd => break,
            Event::Scalar(text, style, anchor, tag) => {
                let merge_key = text == "<<"
                    && b.expects_key()
                    && match tag.as_ref().map(tag_name) {
                        None => style == TScalarStyle::Plain,
                        Some(name) => {
                            matches!(name, TagName::NonSpecific | TagName::Known("merge"))
                        }
                    };
                if merge_key {
                    // Not decoded by go-yaml; an alias to it is an ordinary "<<" string.
                    if let Some(Frame {
                        open: Open::Map { key, .. },
                        ..
                    }) = b.frames.last_mut()
                    {
                        *key = Some(None);
                    }
                    if anchor > 0 {
                        let node = Rc::new(Node {
                            mark,
                            kind: Kind::Str(text),
                        });
                        b.anchors.insert(anchor, (node, Size::scalar(2)));
                    }
                    None
                } else {
                    if b.frames.is_empty() && is_block(style) {
                        // yaml-rust2 reads a document's block scalar from column 0 and past
                        // `---`; go-yaml from column 1. Documents are mappings anyway.
                        return Err(Error::at(
                            mark,
                            "a document that is a block scalar is not supported",
                        ));
                    }
                    let size = Size::scalar(text.len());
                    let kind = scalar(text, style, tag.as_ref()).map_err(|m| Error::at(mark, m))?;
                    b.count(size, 0, mark)?;
                    b.add(Rc::new(Node { mark, kind }), size, anchor, false)?
                }
            }
            Event::Alias(id) => {
                let Some((node, size)) = b.anchors.get(&id).cloned() else {
                    let message = "alias to an anchor not defined before it in this document";
                    return Err(Error::at(mark, message));
                };
                if b.frames.len() + size.depth > MAX_DEPTH {
                    return Err(Error::at(
                        mark,
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    ));
                }
                // go-yaml decodes the alias, then the anchored node again.
                let decoded = Size {
                    decodes: 1 + size.decodes,
                    ..size
                };
                b.count(decoded, size.decodes, mark)?;
                b.add(node, decoded, 0, true)?
            }
            Event::SequenceStart(anchor, tag) => {
                collection_tag(tag.as_ref(), "seq").map_err(|m| Error::at(mark, m))?;
                b.open(Open::Seq(Vec::new()), mark, anchor)?;
                None
            }
            Event::MappingStart(anchor, tag) => {
                collection_tag(tag.as_ref(), "map").map_err(|m| Error::at(mark, m))?;
                let open = Open::Map {
                    entries: Vec::new(),
                    index: BTreeMap::new(),
                    key: None,
                };
                b.open(open, mark, anchor)?;
                None
            }
            Event::SequenceEnd | Event::MappingEnd => b.close(mark)?,
            _ => return Err(Error::at(mark, "unexpected event inside a document")),
        };
        root = root.or(done);
    }
    root.ok_or_else(|| Error::at(start, "empty document"))
}

fn is_block(style: TScalarStyle) -> bool {
    matches!(style, TScalarStyle::Literal | TScalarStyle::Folded)
}

#[derive(PartialEq)]
enum TagName {
    /// `!`: go-yaml reads the scalar as a string.
    NonSpecific,
    /// `tag:yaml.org,2002:<name>` that go-yaml understands.
    Known(&'static str),
    /// Anything else, as written.
    Unknown(String),
}

fn tag_name(tag: &Tag) -> TagName {
    const KNOWN: [&str; 10] = [
        "str",
        "int",
        "float",
        "bool",
        "null",
        "map",
        "seq",
        "binary",
        "merge",
        "timestamp",
    ];
    if tag.handle.is_empty() && tag.suffix == "!" {
        return TagName::NonSpecific;
    }
    let full = format!("{}{}", tag.handle, tag.suffix);
    match full.strip_prefix(YAML_TAG) {
        Some(name) => match KNOWN.iter().find(|k| **k == name) {
            Some(k) => TagName::Known(k),
            None => TagName::Unknown(format!("!!{name}")),
        },
        None if tag.handle == "!" => TagName::Unknown(full),
        None => TagName::Unknown(format!("!<{full}>")),
    }
}

/// go-yaml ignores tags on collections; a tag that contradicts the collection is refused here.
fn collection_tag(tag: Option<&Tag>, name: &'static str) -> Result<(), String> {
    match tag.map(tag_name) {
        None | Some(TagName::NonSpecific) => Ok(()),
        Some(TagName::Known(n)) if n == name => Ok(()),
        Some(TagName::Known(n)) => Err(format!(
            "tag !!{n} on a {}",
            if name == "map" { "mapping" } else { "sequence" }
        )),
        Some(TagName::Unknown(t)) => Err(format!("unknown tag {t}")),
    }
}

/// What a scalar decodes to (go-yaml v2's `resolve` and `decoder.scalar`).
fn scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Result<Kind, String> {
    let tag = match tag.map(tag_name) {
        // Quoted and block scalars are strings; a plain one is resolved from its text.
        None if style != TScalarStyle::Plain => return Ok(Kind::Str(text)),
        None => "",
        Some(TagName::NonSpecific) => return Ok(Kind::Str(text)),
        Some(TagName::Unknown(t)) => return Err(format!("unknown tag {t}")),
        Some(TagName::Known(name)) => name,
    };
    let resolved = match tag {
        // A `!!merge` scalar that is not a mapping key is the string.
        "str" | "merge" => return Ok(Kind::Str(text)),
        "binary" => {
            let bytes = go_base64(&text).ok_or("!!binary value contains invalid base64 data")?;
            let text = String::from_utf8(bytes).map_err(|_| "!!binary value is not UTF-8 text")?;
            return Ok(Kind::Str(text));
        }
        "map" | "seq" => return Err(format!("tag !!{tag} on a scalar")),
        _ => resolve(&text, tag.is_empty() || tag == "timestamp"),
    };
    let kind = match (tag, resolved) {
        ("", r) | ("null", r @ Resolved::Null) | ("bool", r @ Resolved::Bool(_)) => r,
        ("int", r @ (Resolved::Int(_) | Resolved::Uint(_))) => r,
        ("float", r @ Resolved::Float(_)) | ("timestamp", r @ Resolved::Timestamp) => r,
        // go-yaml turns an int (not a uint64) into a float for `!!float`.
        ("float", Resolved::Int(i)) => Resolved::Float(i as f64),
        (tag, r) => {
            return Err(format!("cannot decode !!{} `{text}` as a !!{tag}", r.tag()));
        }
    };
    Ok(match kind {
        Resolved::Null => Kind::Null,
        Resolved::Bool(b) => Kind::Bool(b),
        Resolved::Int(i) => Kind::Int(i),
        Resolved::Uint(u) => Kind::Uint(u),
        Resolved::Float(f) => Kind::Float(f),
        // go-yaml keeps timestamps as their text when decoding into interface{}.
        Resolved::Str | Resolved::Timestamp => Kind::Str(text),
    })
}

enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str,
    Timestamp,
}

impl Resolved {
    fn tag(&self) -> &'static str {
        match self {
            Resolved::Null => "null",
            Resolved::Bool(_) => "bool",
            Resolved::Int(_) | Resolved::Uint(_) => "int",
            Resolved::Float(_) => "float",
            Resolved::Str => "str",
            Resolved::Timestamp => "timestamp",
        }
    }
}

/// go-yaml v2's `resolve`: YAML 1.1 plain scalars. The first character decides what the text may
/// be; numbers go through Go's strconv after removing every `_`.
fn resolve(s: &str, timestamps: bool) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false);
        }
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match s.as_bytes()[0] {
        b'.' => match go_parse_dot_float(s) {
            Some(f) => Resolved::Float(f),
            None => Resolved::Str,
        },
        b'+' | b'-' | b'0'..=b'9' => {
            if timestamps && is_timestamp(s) {
                return Resolved::Timestamp;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(i) = go_parse_int(&plain, None) {
                return Resolved::Int(i);
            }
            if let Some(u) = go_parse_uint(&plain, None) {
                return Resolved::Uint(u);
            }
            if is_yaml_float(&plain) {
                // Go refuses a float that overflows to infinity.
                if let Some(f) = plain.parse::<f64>().ok().filter(|f| f.is_finite()) {
                    return Resolved::Float(f);
                }
            }
            if let Some(bits) = plain.strip_prefix("0b") {
                if let Some(i) = go_parse_int(bits, Some(2)) {
                    return Resolved::Int(i);
                }
                if let Some(u) = go_parse_uint(bits, Some(2)) {
                    return Resolved::Uint(u);
                }
            } else if let Some(bits) = plain.strip_prefix("-0b")
                && let Some(i) = go_parse_int(&format!("-{bits}"), Some(2))
            {
                return Resolved::Int(i);
            }
            Resolved::Str
        }
        _ => Resolved::Str,
    }
}

/// Go's `strconv.ParseUint(s, base, 64)`; base `None` is Go's 0: `0x`, `0o`, `0b` or a leading
/// `0` (octal) choose it.
fn go_parse_uint(s: &str, base: Option<u32>) -> Option<u64> {
    let b = s.as_bytes();
    let (digits, base) = match base {
        Some(base) => (s, base),
        None if b.first() != Some(&b'0') => (s, 10),
        None if b.len() >= 3 => match b[1] | 0x20 {
            b'b' => (&s[2..], 2),
            b'o' => (&s[2..], 8),
            b'x' => (&s[2..], 16),
            _ => (&s[1..], 8),
        },
        None => (&s[1..], 8),
    };
    // Go reads "0" as octal with no digits; a base prefix needs digits.
    if s.is_empty() || (digits.is_empty() && base != 8) {
        return None;
    }
    digits.chars().try_fold(0u64, |n, c| {
        let d = c.to_digit(36).filter(|d| *d < base)?;
        n.checked_mul(u64::from(base))?.checked_add(u64::from(d))
    })
}

/// Go's `strconv.ParseInt(s, base, 64)`: an optional sign, then `go_parse_uint`.
fn go_parse_int(s: &str, base: Option<u32>) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(digits, base)?;
    if neg {
        0i64.checked_sub_unsigned(u)
    } else {
        i64::try_from(u).ok()
    }
}

/// Go's `strconv.ParseFloat` on text that starts with '.' (`.5`, `.5e3`, `.1_5`).
fn go_parse_dot_float(s: &str) -> Option<f64> {
    if !underscore_ok(s) {
        return None;
    }
    let t: String = s.chars().filter(|&c| c != '_').collect();
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[1..i], Some(&t[i + 1..])),
        None => (&t[1..], None),
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    if !digits(mantissa) || !exponent_ok {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's `underscoreOK`: an underscore only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    let (mut saw, mut i, mut hex) = (b'^', 0, false);
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1] | 0x20, b'b' | b'o' | b'x') {
        (saw, i, hex) = (b'0', 2, s[1] | 0x20 == b'x');
    }
    for &c in &s[i..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else if saw == b'_' {
            return false;
        } else {
            saw = b'!';
        }
    }
    saw != b'_'
}

/// go-yaml's float pattern `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => !frac.is_empty() && digits(frac),
        Some((int, frac)) => digits(int) && digits(frac),
        None => !mantissa.is_empty() && digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// go-yaml's timestamps: Go's time.Parse with "2006-1-2T15:4:5.999999999Z07:00" (or a lower-case
/// `t`), "2006-1-2 15:4:5.999999999" and "2006-1-2".
fn is_timestamp(s: &str) -> bool {
    timestamp_end(s.as_bytes()) == Some(s.len())
}

/// Where a timestamp that starts `b` ends, if it is one.
fn timestamp_end(b: &[u8]) -> Option<usize> {
    // Go's getnum: one or two digits, exactly two when `fixed`.
    let num = |i: &mut usize, fixed: bool| -> Option<u32> {
        let digit = |j: usize| {
            b.get(j)
                .filter(|c| c.is_ascii_digit())
                .map(|c| u32::from(c - b'0'))
        };
        let first = digit(*i)?;
        let Some(second) = digit(*i + 1) else {
            *i += 1;
            return (!fixed).then_some(first);
        };
        *i += 2;
        Some(first * 10 + second)
    };
    let expect = |i: &mut usize, c: u8| (b.get(*i) == Some(&c)).then(|| *i += 1);
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let year = b[..4].iter().fold(0, |y, d| y * 10 + u32::from(d - b'0'));
    let mut i = 5;
    let month = num(&mut i, false)?;
    expect(&mut i, b'-')?;
    let day = num(&mut i, false)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=12).contains(&month) || day < 1 || day > days {
        return None;
    }
    let zone = match b.get(i) {
        None => return Some(i),
        Some(b'T' | b't') => true,
        Some(b' ') => false,
        _ => return None,
    };
    i += 1;
    let hour = num(&mut i, false)?;
    expect(&mut i, b':')?;
    let minute = num(&mut i, false)?;
    expect(&mut i, b':')?;
    let second = num(&mut i, false)?;
    if hour >= 24 || minute >= 60 || second >= 60 {
        return None;
    }
    if matches!(b.get(i), Some(b'.' | b',')) && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if zone && expect(&mut i, b'Z').is_none() {
        if !matches!(b.get(i), Some(b'+' | b'-')) {
            return None;
        }
        i += 1;
        let (h, _, m) = (
            num(&mut i, true)?,
            expect(&mut i, b':')?,
            num(&mut i, true)?,
        );
        if h > 24 || m > 60 {
            return None;
        }
    }
    Some(i)
}

/// Go's `base64.StdEncoding.DecodeString`: padding required, `\r` and `\n` skipped.
fn go_base64(s: &str) -> Option<Vec<u8>> {
    let data: Vec<u8> = s.bytes().filter(|&b| b != b'\r' && b != b'\n').collect();
    if !data.len().is_multiple_of(4) {
        return None;
    }
    let quads = data.len() / 4;
    let mut out = Vec::with_capacity(quads * 3);
    for (i, quad) in data.chunks(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 < quads) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            };
            n = n << 6 | u32::from(v);
        }
        n <<= 6 * pad;
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    Some(out)
}

/// sigs.k8s.io/yaml's conversion to JSON: keys become strings, then encoding/json writes numbers
/// and refuses NaN and infinities. Iterative, for the same reason as `Node`'s drop.
fn to_value(root: &Node) -> Result<Value, Error> {
    enum Open<'a> {
        Array(Vec<Value>, std::slice::Iter<'a, Rc<Node>>),
        /// The entries so far, their keys, the entries to come and the key being read.
        Object(
            Vec<(String, Value)>,
            BTreeSet<String>,
            std::slice::Iter<'a, (Rc<Node>, Rc<Node>)>,
            String,
        ),
    }
    let mut open: Vec<Open> = Vec::new();
    let mut next = Some(root);
    loop {
        // Start the next node: a scalar is done at once, a collection is opened.
        let mut done = match next.take().map(|node| (node, &node.kind)) {
            None => None,
            Some((_, Kind::Seq(items))) => {
                open.push(Open::Array(Vec::with_capacity(items.len()), items.iter()));
                None
            }
            Some((_, Kind::Map(entries))) => {
                let object = Vec::with_capacity(entries.len());
                open.push(Open::Object(
                    object,
                    BTreeSet::new(),
                    entries.iter(),
                    String::new(),
                ));
                None
            }
            Some((node, _)) => Some(scalar_value(node)?),
        };
        // Hand finished values to their collections until one has a child left to start.
        while next.is_none() {
            let Some(top) = open.last_mut() else {
                return done.ok_or_else(|| Error::at(root.mark, "empty value"));
            };
            match top {
                Open::Array(items, rest) => {
                    items.extend(done.take());
                    next = rest.next().map(|n| &**n);
                }
                Open::Object(object, seen, rest, key) => {
                    if let Some(value) = done.take() {
                        object.push((std::mem::take(key), value));
                    }
                    if let Some((k, v)) = rest.next() {
                        *key = key_string(k)?;
                        // Go iterates the map in random order: which of the two keys survives
                        // is chance.
                        if !seen.insert(key.clone()) {
                            let message =
                                format!("two keys of this mapping both become \"{key}\" in JSON");
                            return Err(Error::at(k.mark, message));
                        }
                        next = Some(v);
                    }
                }
            }
            if next.is_none() {
                done = match open.pop() {
                    Some(Open::Array(items, _)) => Some(Value::Array(items)),
                    Some(Open::Object(object, ..)) => Some(Value::Object(object)),
                    None => None,
                };
            }
        }
    }
}

fn scalar_value(node: &Node) -> Result<Value, Error> {
    Ok(match &node.kind {
        Kind::Null => Value::Null,
        Kind::Bool(b) => Value::Bool(*b),
        Kind::Int(i) => Value::Number(i.to_string()),
        Kind::Uint(u) => Value::Number(u.to_string()),
        Kind::Float(f) => Value::Number(json_float(*f).ok_or_else(|| {
            Error::at(
                node.mark,
                format!("json: unsupported value: {}", go_float_key(*f)),
            )
        })?),
        Kind::Str(s) => Value::String(s.clone()),
        Kind::Seq(_) | Kind::Map(_) => return Err(Error::at(node.mark, "not a scalar")),
    })
}

/// sigs.k8s.io/yaml's map key conversion: strings, ints, floats and bools; null and uint64 keys
/// are refused ("unsupported map key").
fn key_string(key: &Node) -> Result<String, Error> {
    match &key.kind {
        Kind::Str(s) => Ok(s.clone()),
        Kind::Int(i) => Ok(i.to_string()),
        Kind::Bool(b) => Ok(b.to_string()),
        Kind::Float(f) => Ok(go_float_key(*f)),
        Kind::Null => Err(Error::at(key.mark, "unsupported map key: null")),
        Kind::Uint(u) => Err(Error::at(
            key.mark,
            format!("unsupported map key of type uint64: {u}"),
        )),
        Kind::Seq(_) | Kind::Map(_) => Err(Error::at(key.mark, "invalid map key")),
    }
}

/// encoding/json's float: the shortest text that reads back, exponent form below 1e-6 and from
/// 1e21 (`1e+21`, `1e-7`).
fn json_float(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    if f != 0.0 && (f.abs() < 1e-6 || f.abs() >= 1e21) {
        let s = format!("{f:e}");
        return Some(match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        });
    }
    Some(format!("{f}"))
}

/// `strconv.FormatFloat(f, 'g', -1, 32)` as sigs.k8s.io/yaml writes float keys, with go-yaml's
/// names for the infinities and NaN.
fn go_float_key(f: f64) -> String {
    let x = f as f32;
    if x.is_nan() {
        return ".nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return format!("{sign}0");
    }
    let e = format!("{:e}", x.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let digits = mantissa.replace('.', "");
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let m = match digits.split_at(1) {
            (d, "") => d.to_string(),
            (d, rest) => format!("{d}.{rest}"),
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{exp_sign}{:02}", exp.abs())
    } else if exp < 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..point], &digits[point..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }
    fn n(v: &str) -> Value {
        Value::Number(v.into())
    }
    fn obj(entries: &[(&str, Value)]) -> Value {
        Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }
    fn one(text: &str) -> Value {
        parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }
    fn err(text: &str) -> Error {
        match parse(text) {
            Ok(v) => panic!("{text:?} decoded to {v:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn locate_finds_where_a_value_is_written() {
        let key = |k: &str| Step::Key(k.to_string());
        let text = "a: 1\n---\nbase: &b\n  hostPath: {path: /run}\nspec:\n  volumes:\n  - name: x\n    <<: *b\n  - {name: y, hostPath: {path: /var/run}}\n";
        let path = |i| {
            [
                key("spec"),
                key("volumes"),
                Step::Index(i),
                key("hostPath"),
                key("path"),
            ]
        };
        // Merged: where the anchored mapping wrote it.
        assert_eq!(locate(text, 2, &path(0)), Some((4, 14)));
        // In flow style, on the item's line.
        assert_eq!(locate(text, 2, &path(1)), Some((9, 26)));
        assert_eq!(
            locate(text, 2, &[key("spec"), key("volumes"), Step::Index(1)]),
            Some((9, 5))
        );
        assert_eq!(locate(text, 1, &[key("a")]), Some((1, 1)));
        assert_eq!(locate(text, 2, &[key("missing")]), None);
        assert_eq!(locate(text, 3, &[]), None);
        // JSON is read as YAML: a List's item.
        let json = "{\"items\": [\n  {\"spec\": {\"hostPath\": {\"path\": \"/run\"}}}\n]}";
        let at = [
            key("items"),
            Step::Index(0),
            key("spec"),
            key("hostPath"),
            key("path"),
        ];
        assert_eq!(locate(json, 1, &at), Some((2, 26)));
    }

    #[test]
    fn block_mapping_and_sequence() {
        let v = one(
            "kind: Pod\nspec:\n  volumes:\n  - name: d\n    hostPath:\n      \
             path: /var/run/docker.sock\n",
        );
        let volume = obj(&[
            ("name", s("d")),
            ("hostPath", obj(&[("path", s("/var/run/docker.sock"))])),
        ]);
        assert_eq!(
            v,
            obj(&[
                ("kind", s("Pod")),
                ("spec", obj(&[("volumes", Value::Array(vec![volume]))]))
            ])
        );
    }

    #[test]
    fn json_is_yaml() {
        let v = one(concat!(
            r#"{"volumes":[{"name":"d","hostPath":{"path":"/x","type":""}}],"#,
            r#""n":1.5e3,"i":-0,"t":true,"z":null,"e":"\u00e9\n"}"#
        ));
        let volume = obj(&[
            ("name", s("d")),
            ("hostPath", obj(&[("path", s("/x")), ("type", s(""))])),
        ]);
        let expected = obj(&[
            ("volumes", Value::Array(vec![volume])),
            ("n", n("1500")),
            ("i", n("0")),
            ("t", Value::Bool(true)),
            ("z", Value::Null),
            ("e", s("é\n")),
        ]);
        assert_eq!(v, expected);
        assert_eq!(one("{\"a\":1}"), obj(&[("a", n("1"))]));
    }

    #[test]
    fn yaml_1_1_booleans_and_nulls() {
        for t in [
            "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
        ] {
            assert_eq!(
                one(&format!("a: {t}")),
                obj(&[("a", Value::Bool(true))]),
                "{t}"
            );
            assert_eq!(one(&format!("{t}: a")), obj(&[("true", s("a"))]), "{t}");
        }
        for f in [
            "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
        ] {
            assert_eq!(
                one(&format!("a: {f}")),
                obj(&[("a", Value::Bool(false))]),
                "{f}"
            );
            assert_eq!(one(&format!("{f}: a")), obj(&[("false", s("a"))]), "{f}");
        }
        for z in ["~", "null", "Null", "NULL", ""] {
            assert_eq!(one(&format!("a: {z}")), obj(&[("a", Value::Null)]), "{z}");
        }
        // Not in the YAML 1.1 tables go-yaml uses: strings.
        for t in ["yES", "tRUE", "nULL", "Nope", "'yes'", "\"on\""] {
            let expected = t.trim_matches(['\'', '"']);
            assert_eq!(one(&format!("a: {t}")), obj(&[("a", s(expected))]), "{t}");
        }
    }

    #[test]
    fn numbers_resolve_as_go_yaml_v2() {
        let cases = [
            ("0777", "511"),
            ("0o17", "15"),
            ("0x1F", "31"),
            ("-0x10", "-16"),
            ("0b101", "5"),
            ("-0b101", "-5"),
            ("0b-101", "-5"),
            ("+12", "12"),
            ("1_000", "1000"),
            ("-0", "0"),
            ("09", "9"),
            ("9223372036854775807", "9223372036854775807"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("18446744073709551615", "18446744073709551615"),
            ("18446744073709551616", "18446744073709552000"),
            ("1.5", "1.5"),
            ("1.0", "1"),
            ("1e3", "1000"),
            ("-1.5E-3", "-0.0015"),
            (".5", "0.5"),
            ("1.", "1"),
            ("1e21", "1e+21"),
            ("1e-7", "1e-7"),
            ("-0.0", "-0"),
            ("1_", "1"),
        ];
        for (text, json) in cases {
            assert_eq!(one(&format!("a: {text}")), obj(&[("a", n(json))]), "{text}");
        }
        for text in [
            "0x",
            "1e400",
            "._5",
            "0b2",
            "1.2.3",
            "12:30",
            "0xG",
            "+",
            "1e",
            "2001-12-14",
        ] {
            assert_eq!(one(&format!("a: {text}")), obj(&[("a", s(text))]), "{text}");
        }
    }

    #[test]
    fn json_has_no_infinity_or_nan() {
        for text in [".inf", "-.inf", "+.INF", ".nan", ".NaN", "!!float .inf"] {
            assert!(
                err(&format!("a: {text}"))
                    .message
                    .contains("unsupported value"),
                "{text}"
            );
        }
        // As keys they are names; overwritten, they are never written.
        assert_eq!(
            one(".inf: a\n-.inf: b"),
            obj(&[(".inf", s("a")), ("-.inf", s("b"))])
        );
        assert_eq!(one("a: .inf\na: 1"), obj(&[("a", n("1"))]));
    }

    #[test]
    fn quoted_and_block_scalars_are_strings() {
        let v = one("a: '1'\nb: \"true\"\nc: |\n  null\nd: >-\n  0x10\n  x\ne: 'it''s'\n");
        assert_eq!(
            v,
            obj(&[
                ("a", s("1")),
                ("b", s("true")),
                ("c", s("null\n")),
                ("d", s("0x10 x")),
                ("e", s("it's"))
            ])
        );
    }

    #[test]
    fn keys_become_strings() {
        let v = one(
            "1: a\n0x10: b\ntrue: c\n1.5: d\n1e6: e\n0.1: f\n100000: g\n-0.0: h\n\
             3.14159265358979: i\n0.00001: j",
        );
        let expected = obj(&[
            ("1", s("a")),
            ("16", s("b")),
            ("true", s("c")),
            ("1.5", s("d")),
            ("1e+06", s("e")),
            ("0.1", s("f")),
            ("100000", s("g")),
            ("-0", s("h")),
            ("3.1415927", s("i")),
            ("1e-05", s("j")),
        ]);
        assert_eq!(v, expected);
        assert!(err("~: a").message.contains("unsupported map key"));
        assert!(
            err("18446744073709551615: a")
                .message
                .contains("unsupported map key")
        );
        assert!(err("[a]: b").message.contains("invalid map key"));
        assert!(err("? {a: b}\n: c").message.contains("invalid map key"));
        // 1 and "1" are different Go keys that sigs.k8s.io/yaml writes as the same JSON key.
        assert!(err("1: a\n'1': b").message.contains("both become \"1\""));
        assert!(err(".nan: a\n.NaN: b").message.contains("both become"));
    }

    #[test]
    fn duplicate_keys_replace_in_place() {
        assert_eq!(
            one("a: 1\nb: 2\na: 3"),
            obj(&[("a", n("3")), ("b", n("2"))])
        );
        // Equal Go keys: 1 and 0x1 are the same int, 0.0 and -0.0 the same float.
        assert_eq!(one("1: a\n0x1: b"), obj(&[("1", s("b"))]));
        assert_eq!(one("0.0: a\n-0.0: b"), obj(&[("-0", s("b"))]));
    }

    #[test]
    fn binary_key_hides_nothing() {
        let v = one("volumes:\n- !!binary aG9zdFBhdGg=: {path: /var/run/docker.sock}\n");
        let volume = obj(&[("hostPath", obj(&[("path", s("/var/run/docker.sock"))]))]);
        assert_eq!(v, obj(&[("volumes", Value::Array(vec![volume]))]));
        // Go's decoder skips line breaks, nothing else.
        assert_eq!(
            one("a: !!binary |\n  aG9z\n  dFBhdGg=\n"),
            obj(&[("a", s("hostPath"))])
        );
        assert_eq!(
            one("a: !<tag:yaml.org,2002:binary> aG9zdFBhdGg="),
            obj(&[("a", s("hostPath"))])
        );
        assert!(err("a: !!binary aG9z dFBhdGg=").message.contains("base64"));
        assert!(err("a: !!binary aG9zdFBhdGg").message.contains("base64"));
        assert!(err("a: !!binary /w==").message.contains("UTF-8"));
    }

    #[test]
    fn merge_keys() {
        let v = one("v:\n  <<: {hostPath: {path: /var/run/docker.sock}}\n  name: d\n");
        let expected = obj(&[
            ("hostPath", obj(&[("path", s("/var/run/docker.sock"))])),
            ("name", s("d")),
        ]);
        assert_eq!(v, obj(&[("v", expected)]));
        let v = one("base: &b {hostPath: {path: /x}, name: a}\nv:\n  <<: *b\n  name: z\n");
        assert_eq!(
            v.clone(),
            obj(&[
                (
                    "base",
                    obj(&[("hostPath", obj(&[("path", s("/x"))])), ("name", s("a"))])
                ),
                (
                    "v",
                    obj(&[("hostPath", obj(&[("path", s("/x"))])), ("name", s("z"))])
                ),
            ])
        );
        // In a sequence the earlier mapping wins; keys after `<<` override merged ones.
        // (`y` would be a YAML 1.1 boolean key, "true".)
        let v = one("- &a {p: 1, q: 1}\n- &b {q: 2, r: 2}\n- <<: [*a, *b]\n  r: 3\n");
        let Value::Array(items) = v else { panic!() };
        let expected = obj(&[("q", n("1")), ("r", n("3")), ("p", n("1"))]);
        assert_eq!(items[2], expected);
        // go-yaml v2 decodes `<<` where it stands: a key written before it is overwritten.
        assert_eq!(
            one("a: {x: 0, <<: {x: 1}}"),
            obj(&[("a", obj(&[("x", n("1"))]))])
        );
        // `!!merge` and `!` keys merge; a quoted "<<" and an alias to "<<" are ordinary keys.
        assert_eq!(one("!!merge <<: {a: 1}"), obj(&[("a", n("1"))]));
        assert_eq!(one("'<<': {a: 1}"), obj(&[("<<", obj(&[("a", n("1"))]))]));
        assert_eq!(
            one("a: &m <<\n*m : 1"),
            obj(&[("a", s("<<")), ("<<", n("1"))])
        );
        for bad in [
            "<<: 1",
            "<<: [1]",
            "<<: [[{a: 1}]]",
            "<<:",
            "a: &x [1]\n<<: *x",
        ] {
            assert!(err(bad).message.contains("map merge requires"), "{bad}");
        }
    }

    #[test]
    fn tags() {
        let v = one(
            "a: !!str 1\nb: !!int '12'\nc: !!float 1\nd: !!bool yes\ne: !!null ~\n\
             f: !!timestamp 2001-12-14t21:59:43.10-05:00\ng: ! 12\n\
             h: !<tag:yaml.org,2002:int> 0x10\ni: !!map {}\nj: !!seq []\n",
        );
        let expected = obj(&[
            ("a", s("1")),
            ("b", n("12")),
            ("c", n("1")),
            ("d", Value::Bool(true)),
            ("e", Value::Null),
            ("f", s("2001-12-14t21:59:43.10-05:00")),
            ("g", s("12")),
            ("h", n("16")),
            ("i", obj(&[])),
            ("j", Value::Array(vec![])),
        ]);
        assert_eq!(v, expected);
        let e = err("a: 1\nb: !foo x\n");
        assert_eq!(
            (e.line, e.column, e.message.as_str()),
            (2, 9, "unknown tag !foo")
        );
        assert_eq!(err("a: !!set {x}").message, "unknown tag !!set");
        assert_eq!(
            err("a: !<tag:example.com,2000:x> 1").message,
            "unknown tag !<tag:example.com,2000:x>"
        );
        assert_eq!(err("!foo a: 1").message, "unknown tag !foo");
        for bad in [
            "!!int abc",
            "!!int 1.5",
            "!!float x",
            "!!bool 1",
            "!!null 0",
            "!!timestamp 2001-13-01",
            "!!map x",
            "!!str {a: 1}",
            "!!float 18446744073709551615",
        ] {
            assert!(parse(&format!("a: {bad}")).is_err(), "{bad}");
        }
        // Tags are found by line and column: also after CRLF and non-ASCII block scalar lines.
        let v = one("a: |\r\n  \u{e9}t\u{e9}\r\nb: !!int \"1\"\r\nc: [!!str x, !!int 2]\r\n");
        let c = Value::Array(vec![s("x"), n("2")]);
        assert_eq!(
            v,
            obj(&[("a", s("\u{e9}t\u{e9}\n")), ("b", n("1")), ("c", c)])
        );
        assert!(
            err("%TAG !e! tag:example.com,2000:\n---\na: !e!x 1")
                .message
                .contains("%TAG")
        );
    }

    #[test]
    fn anchors_and_aliases() {
        let v = one("a: &x {b: [1, &y two]}\nc: *x\nd: *y\n");
        let x = obj(&[("b", Value::Array(vec![n("1"), s("two")]))]);
        assert_eq!(v, obj(&[("a", x.clone()), ("c", x), ("d", s("two"))]));
        assert!(parse("a: *x").is_err());
        assert!(parse("a: &x [*x]").is_err());
        // Anchors belong to their document.
        assert!(documents("a: &x 1\n---\nb: *x\n").is_err());
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i", "j"])
        {
            let refs = vec![format!("*{prev}"); 10].join(", ");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let e = err(&text);
        assert!(
            e.message.contains("aliasing") || e.message.contains("expands"),
            "{e}"
        );
        // Few aliases of a large scalar: below go-yaml's ratio, above the size limit.
        let text = format!(
            "a: &a {}\nb: [{}]\n",
            "x".repeat(1 << 20),
            vec!["*a"; 70].join(", ")
        );
        assert!(err(&text).message.contains("expands"));
        // An alias that would nest deeper than the limit.
        let text = format!(
            "a: &a {}x{}\nb:\n{}*a\n",
            "[".repeat(200),
            "]".repeat(200),
            "- ".repeat(900)
        );
        assert!(err(&text).message.contains("nesting"), "{}", err(&text));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        for text in [
            "[".repeat(100_000),
            "{a: ".repeat(100_000),
            "- ".repeat(100_000),
            (0..2000)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect(),
            format!("{}x{}", "[".repeat(300), "]".repeat(300)),
        ] {
            assert!(parse(&text).is_err(), "{}", &text[..20]);
        }
        assert!(parse(&format!("{}x{}", "[".repeat(200), "]".repeat(200))).is_ok());
        let deep = format!("{}x", "- ".repeat(MAX_DEPTH));
        assert!(parse(&format!("- {deep}")).is_err());
        // The limit itself fits a small stack (the module's wasm stack is 1 MiB): nothing recurses
        // but the drop of the returned `Value`.
        let small = std::thread::Builder::new().stack_size(512 << 10);
        let parsed = small.spawn(move || parse(&deep).is_ok()).unwrap().join();
        assert!(parsed.unwrap());
    }

    #[test]
    fn documents_and_lines() {
        let docs = documents("---\n---\n").unwrap();
        assert_eq!(
            docs.iter().map(|d| (&d.value, d.line)).collect::<Vec<_>>(),
            [(&Value::Null, 1), (&Value::Null, 2)]
        );
        for empty in ["", "# only a comment\n", "---\n", "\u{feff}"] {
            assert_eq!(parse(empty), Ok(Value::Null), "{empty:?}");
        }
        let docs = documents("a: 1\n---\n# c\nb: 2\n...\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!((docs[0].line, docs[1].line), (1, 2));
        let e = err("a: 1\n---\nb: 2\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "2 YAML documents where one is expected")
        );
        assert_eq!(err("a: [1,\n  }").line, 2);
    }

    #[test]
    fn readings_that_differ_from_go_yaml_are_refused() {
        for bad in [
            // go-yaml: key `hostPath`; yaml-rust2: `?hostPath`.
            "{?hostPath: {path: /var/run/docker.sock}}",
            "{a: b?c}",
            "{a: b:?c}",
            "[a:,b]",
            "&a:b x",
            "[!!str, hostPath]",
            "a: x\u{2028}hostPath: y",
            "a: x\u{85}b: y",
            "\u{feff}a: 1\n\u{feff}b: 2",
            "a: \u{0}",
            "a: \u{7f}",
            "--- |\nfoo\n",
            "a: |\n  foo",
            "a: |\n",
            "- >\r\n\n",
            "%YAML 1.2\n---\na: 1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            one("%YAML 1.1\n---\na: [\"x:y\", 'a?']"),
            obj(&[("a", Value::Array(vec![s("x:y"), s("a?")]))])
        );
        assert_eq!(one("a: b:c?d"), obj(&[("a", s("b:c?d"))]));
        // As kubectl reads it: a `:` before anything but `,?[]{}` stays in a flow scalar.
        assert_eq!(
            one("a: [x:y, {image: quay.io/x:v1.8.2}]"),
            obj(&[(
                "a",
                Value::Array(vec![s("x:y"), obj(&[("image", s("quay.io/x:v1.8.2"))])])
            )])
        );
    }

    #[test]
    fn error_display() {
        let e = err("a: [1, 2");
        assert_eq!(
            e.to_string(),
            format!("line {}, column {}: {}", e.line, e.column, e.message)
        );
    }

    /// Random and mutated inputs never panic, hang or overflow the stack.
    #[test]
    fn random_inputs_never_panic() {
        let corpus = [
            "spec:\n  volumes:\n  - name: d\n    hostPath: {path: /var/run/docker.sock}\n",
            "{\"a\":[1,2.5e3,{\"b\":null}],\"c\":\"d\\u00e9\"}",
            "base: &b {x: 1}\nv:\n  <<: [*b, {y: 2}]\n  k: !!binary aG9zdFBhdGg=\n",
            "a: |+\n  x\n\nb: >-\n  y\n  z\n? [c]\n: d\n--- !!str\n...\n",
            "- &a !!int 0x1F\n- *a\n- ! 'q''s'\n- \"\\x41\\u00e9\\\n  x\"\n- 2001-12-14 21:59:43\n",
        ];
        let pieces = [
            "[",
            "]",
            "{",
            "}",
            ",",
            ":",
            "? ",
            "- ",
            "&a ",
            "*a",
            "!!str ",
            "!",
            "|",
            ">",
            "'",
            "\"",
            "#",
            "\n",
            "\n  ",
            "\t",
            "---\n",
            "...",
            "<<: ",
            "\\",
            "%YAML 1.1\n",
            "\u{e9}",
            "\r\n",
            "0x",
            ".inf",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..4000 {
            let mut text = corpus[next() as usize % corpus.len()].to_string();
            for _ in 0..1 + next() % 6 {
                let mut at = next() as usize % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let mut end = (at + 1 + next() as usize % 12).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                match next() % 4 {
                    0 => text.insert_str(at, pieces[next() as usize % pieces.len()]),
                    1 => text.replace_range(at..end, ""),
                    2 => text.insert(at, char::from_u32((next() % 0x250) as u32).unwrap_or('x')),
                    _ => {
                        let copy = text[at..end].to_string();
                        text.insert_str(at, &copy);
                    }
                }
            }
            let _ = documents(&text);
        }
    }
}
