//! Runs the real policy-server on loopback for tests and the benchmark: a `policies.yml` built
//! from policy resources, free ports, readiness, AdmissionReviews over HTTP/1.1 keep-alive, and
//! the process stopped when the handle is dropped.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One policy as policy-server's `policies.yml` declares it.
#[derive(Debug, Clone)]
pub struct PolicyEntry {
    pub id: String,
    /// `file:///...` or `registry://...`.
    pub module: String,
    pub settings: Value,
    pub allowed_to_mutate: bool,
}

/// The policy id policy-server serves a `ClusterAdmissionPolicy` or `AdmissionPolicy` under, as
/// the Kubewarden controller names them (`clusterwide-NAME`, `namespaced-NAMESPACE-NAME`).
pub fn policy_id(resource: &Value) -> String {
    let name = resource["metadata"]["name"].as_str().unwrap_or_default();
    match resource["metadata"]["namespace"].as_str() {
        Some(namespace) => format!("namespaced-{namespace}-{name}"),
        None => format!("clusterwide-{name}"),
    }
}

/// The entries of every policy resource in a multi-document YAML file (e.g. `policy.yaml`),
/// each loading `module` instead of the resource's OCI reference.
pub fn entries_from_resources(yaml: &str, module: &str) -> Result<Vec<PolicyEntry>, String> {
    let mut entries = Vec::new();
    for resource in dsp_scan::yaml_documents(yaml)? {
        if resource.is_null() {
            continue;
        }
        entries.push(PolicyEntry {
            id: policy_id(&resource),
            module: module.to_string(),
            settings: resource["spec"]["settings"].clone(),
            allowed_to_mutate: resource["spec"]["mutating"].as_bool().unwrap_or(false),
        });
    }
    Ok(entries)
}

/// A running policy-server.
pub struct PolicyServer {
    child: Child,
    port: u16,
    /// Holds policies.yml, the download and sigstore directories, and the server's log.
    pub dir: PathBuf,
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

impl PolicyServer {
    /// Starts `binary` with `policies` and `sources` (e.g. insecure registries), and waits until
    /// it is ready, which includes policy-server's own `validate_settings` of every policy.
    pub fn start(
        binary: &Path,
        policies: &[PolicyEntry],
        sources: Option<&Value>,
        dir: &Path,
    ) -> Result<PolicyServer, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let mut yaml = serde_json::Map::new();
        for policy in policies {
            yaml.insert(
                policy.id.clone(),
                json!({
                    "module": policy.module,
                    "settings": policy.settings,
                    "allowedToMutate": policy.allowed_to_mutate,
                }),
            );
        }
        let write = |name: &str, text: String| {
            std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))
        };
        // JSON is YAML: no YAML writer needed.
        write("policies.yml", Value::Object(yaml).to_string())?;
        write("trust.json", "{}".to_string())?;
        let (port, readiness) = (free_port()?, free_port()?);
        let log =
            std::fs::File::create(dir.join("policy-server.log")).map_err(|e| e.to_string())?;
        let mut command = Command::new(binary);
        command
            .args(["--addr", "127.0.0.1", "--port", &port.to_string()])
            .args(["--readiness-probe-port", &readiness.to_string()])
            .arg("--policies")
            .arg(dir.join("policies.yml"))
            .arg("--policies-download-dir")
            .arg(dir.join("downloads"))
            .arg("--sigstore-cache-dir")
            .arg(dir.join("sigstore"))
            .arg("--sigstore-trust-config")
            .arg(dir.join("trust.json"))
            .args(["--ignore-kubernetes-connection-failure", "--workers", "2"])
            .args(["--log-level", "warn", "--log-no-color"])
            .env("HOME", dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        if let Some(sources) = sources {
            write("sources.yml", sources.to_string())?;
            command.arg("--sources-path").arg(dir.join("sources.yml"));
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut server = PolicyServer {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = server.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!(
                    "policy-server exited with {status}: {}",
                    server.log()
                ));
            }
            if let Ok(mut client) = Client::connect(readiness)
                && client.get("/readiness").is_ok_and(|(code, _)| code == 200)
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "policy-server not ready after 120 s: {}",
                    server.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the server wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("policy-server.log")).unwrap_or_default()
    }

    /// A keep-alive connection to the validation port.
    pub fn client(&self) -> Result<Client, String> {
        Client::connect(self.port)
    }

    /// POSTs an AdmissionReview to `/validate/ID` and returns the review's `response`.
    pub fn validate(&self, id: &str, review: &Value) -> Result<Value, String> {
        let body = serde_json::to_vec(review).map_err(|e| e.to_string())?;
        let (code, body) = self.client()?.post(&format!("/validate/{id}"), &body)?;
        if code != 200 {
            return Err(format!("HTTP {code}: {}", String::from_utf8_lossy(&body)));
        }
        let answer: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        Ok(answer["response"].clone())
    }
}

impl Drop for PolicyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 client over one keep-alive connection (requests are small and local;
/// no dependency is worth it).
pub struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(port: u16) -> Result<Client, String> {
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        Ok(Client {
            reader: BufReader::new(stream),
        })
    }

    pub fn get(&mut self, path: &str) -> Result<(u16, Vec<u8>), String> {
        self.send(
            &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
            &[],
        )
    }

    pub fn post(&mut self, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        self.send(&head, body)
    }

    fn send(&mut self, head: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let stream = self.reader.get_mut();
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body))
            .map_err(|e| e.to_string())?;
        let mut status = String::new();
        self.reader
            .read_line(&mut status)
            .map_err(|e| e.to_string())?;
        let code: u16 = status
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("not an HTTP response: {status:?}"))?;
        let mut length = None;
        let mut chunked = false;
        loop {
            let mut line = String::new();
            self.reader
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                self.reader
                    .read_line(&mut size)
                    .map_err(|e| e.to_string())?;
                let size = usize::from_str_radix(size.trim(), 16).map_err(|e| e.to_string())?;
                let mut chunk = vec![0; size + 2];
                self.reader
                    .read_exact(&mut chunk)
                    .map_err(|e| e.to_string())?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            self.reader
                .read_exact(&mut body)
                .map_err(|e| e.to_string())?;
        }
        Ok((code, body))
    }
}
