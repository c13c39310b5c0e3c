//! `dsp`: the project's command-line program.
//!
//! `dsp run` evaluates one request with the flags and output of `kwctl run`: the
//! AdmissionResponse JSON on one line of stdout, exit status 0 for allowed and denied alike, 1
//! for invalid settings or a module that cannot run. `dsp scan` evaluates every object of
//! cluster dumps or manifests and reports the exposures. Without a module, both run the policy
//! compiled into `dsp` (the same code as `policy.wasm`).

// glibc malloc serialises threads that free what another allocated (a read object is
// evaluated on another thread): the scan spent more time in its locks than it gained.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use dsp_scan::{self as scan, ScanReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use testkit::Native;
use testkit::{Evaluator, Outcome};

#[derive(Parser)]
#[command(
    name = "dsp",
    version = env!("CARGO_PKG_VERSION"),
    about = "docker-socket-policy outside a cluster: evaluate a request as `kwctl run` does, or \
             find every object that exposes a container runtime socket",
    long_about = None,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate one AdmissionRequest or AdmissionReview, as `kwctl run` does.
    ///
    /// Prints the AdmissionResponse JSON on one line. Exit status: 0 for allowed and denied
    /// alike, 1 when the request cannot be evaluated (invalid settings, a request the engine
    /// refuses, a module that cannot run), 2 for a usage error.
    Run(RunArgs),
    /// Report the objects of cluster dumps or manifests that expose a container runtime socket.
    ///
    /// Every object is evaluated as a CREATE; each exposure is reported at the object to change
    /// (owned objects fold into an owner in the input that has the same exposure), and objects
    /// the policy does not read are named with the reason. Exit status: 0 nothing exposed, 1
    /// something exposed (exempt and warn rows included), 2 any failure, including empty input.
    Scan(ScanArgs),
    /// Print a completion script for a shell.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff): `dsp man > dsp.1`, `dsp man scan > dsp-scan.1`.
    Man {
        /// The command whose page to print; without it, dsp's own.
        #[arg(value_parser = ["run", "scan"])]
        command: Option<String>,
    },
}

#[derive(Args)]
struct SettingsArgs {
    /// The policy settings as JSON.
    #[arg(long, value_name = "JSON", conflicts_with = "settings_path")]
    settings_json: Option<String>,
    /// The policy settings as a YAML or JSON file.
    #[arg(long, short = 's', value_name = "FILE")]
    settings_path: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    /// An AdmissionRequest or a whole AdmissionReview, JSON or YAML.
    #[arg(long, short = 'r', value_name = "FILE")]
    request_path: PathBuf,
    #[command(flatten)]
    settings: SettingsArgs,
    /// The policy module (a path, or file://PATH); without it, the policy built into dsp.
    #[arg(value_name = "MODULE")]
    module: Option<String>,
}

#[derive(Args)]
struct ScanArgs {
    /// The policy module to evaluate with; without it, the policy built into dsp.
    #[arg(long, env = "DSP_MODULE", value_name = "FILE")]
    module: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingsArgs,
    /// How to print the report.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table)]
    output: Output,
    /// The namespace of the namespaced objects that name none, as `kubectl apply -n` gives
    /// them (`helm template` output names none). Cluster-scoped kinds never have one.
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// `kubectl get -o json|yaml` output (a List or one object) or multi-document YAML
    /// manifests; `-` reads stdin.
    #[arg(value_name = "FILE", required = true)]
    inputs: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Table,
    Json,
    Yaml,
    /// SARIF 2.1.0, for code scanning: a result per exposure at its file and line.
    Sarif,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("Error: {message}");
                ExitCode::FAILURE
            }
        },
        Command::Scan(args) => match scan_command(&args) {
            Ok(status) => ExitCode::from(status),
            Err(message) => {
                eprintln!("Error: {message}");
                ExitCode::from(2)
            }
        },
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "dsp", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man { command } => {
            let mut dsp = Cli::command();
            dsp.build();
            let page = match command.as_deref() {
                None => dsp,
                Some(name) => {
                    let page: &'static str = if name == "run" { "dsp-run" } else { "dsp-scan" };
                    dsp.find_subcommand(name)
                        .expect("clap only accepts existing commands")
                        .clone()
                        .name(page)
                }
            };
            match clap_mangen::Man::new(page).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("Error: {error}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn read_document(path: &Path, what: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .or_else(|_| scan::yaml_document(&text))
        .map_err(|e| format!("{what} {} is neither JSON nor YAML: {e}", path.display()))
}

fn settings(args: &SettingsArgs) -> Result<Value, String> {
    let settings = match (&args.settings_json, &args.settings_path) {
        (Some(json), _) => {
            serde_json::from_str(json).map_err(|e| format!("--settings-json is not JSON: {e}"))?
        }
        (None, Some(path)) => read_document(path, "settings file")?,
        (None, None) => Value::Null,
    };
    Ok(match settings {
        Value::Null => Value::Object(Default::default()),
        settings => settings,
    })
}

/// The module at `path`, or the policy compiled into dsp.
fn policy(path: Option<&Path>) -> Result<Box<dyn Evaluator>, String> {
    match path {
        #[cfg(feature = "module")]
        Some(path) => Ok(Box::new(harness::Module::load_cached(path)?.instance()?)),
        #[cfg(not(feature = "module"))]
        Some(path) => Err(format!(
            "cannot load {}: this dsp has the policy compiled in and no Wasm runtime; build it \
             with `cargo build -p dsp --features module` to evaluate through a module",
            path.display()
        )),
        None => Ok(Box::new(Native)),
    }
}

fn run(args: &RunArgs) -> Result<(), String> {
    let document = read_document(&args.request_path, "request file")?;
    let settings = settings(&args.settings)?;
    let module = args
        .module
        .as_deref()
        .map(|module| Path::new(module.trim_start_matches("file://")));
    let mut policy = policy(module)?;
    match testkit::evaluate(policy.as_mut(), &document, &settings) {
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

/// Scans the inputs and prints the report; the exit status: 2 when an object could not be
/// evaluated, else 1 when something is exposed, else 0.
fn scan_command(args: &ScanArgs) -> Result<u8, String> {
    let settings = settings(&args.settings)?;
    let module = args.module.as_deref();
    let bar = progress_bar();
    // The inputs are read on this thread, an object at a time (a List's items are never all
    // held, nor a JSON file's text), while a thread per core evaluates them.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    // Standard input is read whole (it can be read once): kept to locate findings in it.
    let mut stdin = None;
    let mut report = scan::scan_parallel(
        threads,
        &|| policy(module),
        &settings,
        args.namespace.as_deref(),
        &mut |each| {
            for input in &args.inputs {
                let mut each = |item| {
                    each(item);
                    bar.inc(1);
                };
                if input == "-" {
                    let (source, text) = scan::read_text(input)?;
                    scan::read_objects_with(&source, &text, &mut each)?;
                    stdin = Some(text);
                } else {
                    scan::read_input(input, &mut each)?;
                }
            }
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    if let Output::Sarif = args.output {
        scan::locate_sites(&mut report, &mut |source| match source {
            "stdin" => stdin.clone(),
            path => std::fs::read_to_string(path).ok(),
        });
    }
    // A closed pipe (`| head`) is not an error of the scan.
    let _ = std::io::stdout().write_all(render(&report, args.output)?.as_bytes());
    Ok(match (report.summary.errors, report.summary.exposed) {
        (0, 0) => 0,
        (0, _) => 1,
        _ => 2,
    })
}

/// A count of the objects scanned on stderr, when it is a terminal.
fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("scanned {pos} objects") {
        bar.set_style(style);
    }
    bar
}

fn render(report: &ScanReport, output: Output) -> Result<String, String> {
    match output {
        Output::Table => Ok(scan::table(report)),
        Output::Json => serde_json::to_string_pretty(report)
            .map(|text| text + "\n")
            .map_err(|e| e.to_string()),
        Output::Yaml => serde_json::to_value(report)
            .map(|report| dsp_scan::yaml::to_string(&report))
            .map_err(|e| e.to_string()),
        Output::Sarif => {
            let log = dsp_scan::sarif::sarif(report, env!("CARGO_PKG_VERSION"));
            Ok(serde_json::to_string_pretty(&log).expect("SARIF serializes") + "\n")
        }
    }
}
