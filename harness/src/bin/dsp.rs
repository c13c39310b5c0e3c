//! `dsp`: the project's command-line program.
//!
//! `dsp run` evaluates one request through the Wasm module with the flags and output of
//! `kwctl run`: the AdmissionResponse JSON on one line of stdout, exit status 0 for allowed
//! and denied alike, non-zero for invalid settings or a module that cannot run.

use harness::Module;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use testkit::Outcome;

const USAGE: &str = "usage:
  dsp run --request-path FILE [--settings-json JSON | --settings-path FILE] MODULE.wasm

  --request-path, -r FILE   an AdmissionRequest or a whole AdmissionReview (JSON or YAML)
  --settings-json JSON      the policy settings as JSON
  --settings-path, -s FILE  the policy settings as a YAML or JSON file";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command {other:?}\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {message}");
            ExitCode::FAILURE
        }
    }
}

struct RunArgs {
    request: PathBuf,
    settings: Settings,
    module: PathBuf,
}

enum Settings {
    None,
    Json(String),
    Path(PathBuf),
}

fn parse_run_args(args: &[String]) -> Result<RunArgs, String> {
    let mut request = None;
    let mut settings = Settings::None;
    let mut module = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--request-path" | "-r" => request = Some(PathBuf::from(value()?)),
            "--settings-json" => settings = Settings::Json(value()?),
            "--settings-path" | "-s" => settings = Settings::Path(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(USAGE.to_string()),
            flag if flag.starts_with('-') => {
                return Err(format!("unknown flag {flag}\n{USAGE}"));
            }
            path => {
                if module
                    .replace(path.trim_start_matches("file://").into())
                    .is_some()
                {
                    return Err(format!("only one module can be given\n{USAGE}"));
                }
            }
        }
    }
    Ok(RunArgs {
        request: request.ok_or_else(|| format!("--request-path is required\n{USAGE}"))?,
        settings,
        module: module.ok_or_else(|| format!("the module to run is required\n{USAGE}"))?,
    })
}

fn read_document(path: &PathBuf, what: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .or_else(|_| serde_yaml::from_str(&text))
        .map_err(|e| format!("{what} {} is neither JSON nor YAML: {e}", path.display()))
}

fn run(args: &[String]) -> Result<(), String> {
    let args = parse_run_args(args)?;
    let document = read_document(&args.request, "request file")?;
    let settings = match &args.settings {
        Settings::None => Value::Object(Default::default()),
        Settings::Json(json) => {
            serde_json::from_str(json).map_err(|e| format!("--settings-json is not JSON: {e}"))?
        }
        Settings::Path(path) => match read_document(path, "settings file")? {
            Value::Null => Value::Object(Default::default()),
            settings => settings,
        },
    };
    let module = Module::load(&args.module)?;
    let mut instance = module.instance()?;
    match testkit::evaluate(&mut instance, &document, &settings) {
        Outcome::InvalidSettings(message) => {
            Err(format!("Provided settings are not valid: {message}"))
        }
        Outcome::Response(response, _) => {
            println!(
                "{}",
                serde_json::to_string(&response).expect("response serializes")
            );
            Ok(())
        }
    }
}
