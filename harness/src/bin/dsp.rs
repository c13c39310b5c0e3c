//! `dsp`: the project's command-line program.
//!
//! `dsp run` evaluates one request through the Wasm module with the flags and output of
//! `kwctl run`: the AdmissionResponse JSON on one line of stdout, exit status 0 for allowed
//! and denied alike, non-zero for invalid settings or a module that cannot run.
//!
//! `dsp scan` evaluates every object of cluster dumps or manifests and reports the exposures.

use harness::Module;
use harness::scan::{self, Located};
use serde_json::Value;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use testkit::Outcome;

const USAGE: &str = "usage:
  dsp run --request-path FILE [--settings-json JSON | --settings-path FILE] MODULE.wasm
  dsp scan [--module MODULE.wasm] [--settings-json JSON | --settings-path FILE]
           [--output table|json] FILE... | -

run:
  --request-path, -r FILE   an AdmissionRequest or a whole AdmissionReview (JSON or YAML)
  --settings-json JSON      the policy settings as JSON
  --settings-path, -s FILE  the policy settings as a YAML or JSON file

scan: reads `kubectl get ... -o json|yaml` output or multi-document YAML manifests (`-` is
stdin), evaluates every Pod, workload and PersistentVolume as a CREATE, and reports each
exposure at the object to change. Exit status: 0 nothing exposed, 1 something exposed,
2 bad input. The module defaults to $DSP_MODULE, then ./policy.wasm.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]).map(|()| ExitCode::SUCCESS),
        Some("scan") => scan_command(&args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command {other:?}\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    result.unwrap_or_else(|message| {
        eprintln!("Error: {message}");
        ExitCode::FAILURE
    })
}

#[derive(Default)]
struct Args {
    request: Option<PathBuf>,
    settings: Option<Settings>,
    output: Option<String>,
    module: Option<PathBuf>,
    positional: Vec<String>,
}

enum Settings {
    Json(String),
    Path(PathBuf),
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args::default();
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
            "--request-path" | "-r" => parsed.request = Some(PathBuf::from(value()?)),
            "--settings-json" => parsed.settings = Some(Settings::Json(value()?)),
            "--settings-path" | "-s" => parsed.settings = Some(Settings::Path(value()?.into())),
            "--output" | "-o" => parsed.output = Some(value()?),
            "--module" => parsed.module = Some(value()?.into()),
            "-h" | "--help" => return Err(USAGE.to_string()),
            "-" => parsed.positional.push(arg.clone()),
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}\n{USAGE}")),
            _ => parsed.positional.push(arg.clone()),
        }
    }
    Ok(parsed)
}

fn read_document(path: &PathBuf, what: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .or_else(|_| serde_yaml::from_str(&text))
        .map_err(|e| format!("{what} {} is neither JSON nor YAML: {e}", path.display()))
}

fn settings(args: &Args) -> Result<Value, String> {
    let settings = match &args.settings {
        None => Value::Null,
        Some(Settings::Json(json)) => {
            serde_json::from_str(json).map_err(|e| format!("--settings-json is not JSON: {e}"))?
        }
        Some(Settings::Path(path)) => read_document(path, "settings file")?,
    };
    Ok(match settings {
        Value::Null => Value::Object(Default::default()),
        settings => settings,
    })
}

fn run(args: &[String]) -> Result<(), String> {
    let args = parse_args(args)?;
    let request = args
        .request
        .as_ref()
        .ok_or_else(|| format!("--request-path is required\n{USAGE}"))?;
    let [module] = args.positional.as_slice() else {
        return Err(format!("give exactly one module to run\n{USAGE}"));
    };
    let document = read_document(request, "request file")?;
    let settings = settings(&args)?;
    let module = Module::load_cached(module.trim_start_matches("file://").as_ref())?;
    let mut instance = module.instance()?;
    match testkit::evaluate(&mut instance, &document, &settings) {
        Outcome::RequestRefused(message) => Err(message),
        Outcome::InvalidSettings(message) => {
            Err(format!("Provided settings are not valid: {message}"))
        }
        Outcome::Response(response) => {
            println!(
                "{}",
                serde_json::to_string(&response).expect("response serializes")
            );
            Ok(())
        }
    }
}

/// Exit status 2: the input (or the command line) is wrong.
fn bad_input(message: String) -> ExitCode {
    eprintln!("Error: {message}");
    ExitCode::from(2)
}

fn scan_command(args: &[String]) -> Result<ExitCode, String> {
    let args = match parse_args(args) {
        Ok(args) => args,
        Err(message) => return Ok(bad_input(message)),
    };
    let json_output = match args.output.as_deref() {
        None | Some("table") => false,
        Some("json") => true,
        Some(other) => {
            return Ok(bad_input(format!(
                "--output takes table or json, not {other}"
            )));
        }
    };
    if args.positional.is_empty() {
        return Ok(bad_input(format!(
            "give the files to scan, or - for stdin\n{USAGE}"
        )));
    }
    let mut objects: Vec<Located> = Vec::new();
    for input in &args.positional {
        let text = if input == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            text
        } else {
            match std::fs::read_to_string(input) {
                Ok(text) => text,
                Err(e) => return Ok(bad_input(format!("cannot read {input}: {e}"))),
            }
        };
        let source = if input == "-" {
            "stdin"
        } else {
            input.as_str()
        };
        match scan::read_objects(source, &text) {
            Ok(mut read) => objects.append(&mut read),
            Err(message) => return Ok(bad_input(message)),
        }
    }
    let settings = match settings(&args) {
        Ok(settings) => settings,
        Err(message) => return Ok(bad_input(message)),
    };
    let module_path = args
        .module
        .clone()
        .or_else(|| std::env::var_os("DSP_MODULE").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("policy.wasm"));
    let module = Module::load_cached(&module_path)?;
    let terminal = std::io::stderr().is_terminal();
    let progress = |done: usize, total: usize| {
        if terminal && total >= 1000 && (done.is_multiple_of(250) || done == total) {
            eprint!("\rscanned {done}/{total} objects");
            if done == total {
                eprintln!();
            }
            let _ = std::io::stderr().flush();
        }
    };
    let report = match scan::scan(&module, &settings, &objects, progress) {
        Ok(report) => report,
        Err(message) => return Ok(bad_input(message)),
    };
    let text = if json_output {
        serde_json::to_string_pretty(&report).unwrap() + "\n"
    } else {
        scan::table(&report)
    };
    // A closed pipe (`| head`) is not an error of the scan.
    let _ = std::io::stdout().write_all(text.as_bytes());
    Ok(if report.summary.exposed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
