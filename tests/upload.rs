//! `kexec-chooser upload` against a real server on 127.0.0.1
//! (tests/upload/server.py) that parses each body with an independent
//! multipart parser and reports what arrived: files by sha256, fields,
//! file names, Content-Length against the bytes received, chunking.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use crate::common;

const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/upload/server.py");

/// A server (or proxy) process from server.py, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new("python3")
            .arg(SERVER)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3 tests/upload/server.py (scripts/setup.d/70-upload.sh installs its parser)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("server stdout")).read_line(&mut line).expect("read port");
        let port = line.trim().parse().unwrap_or_else(|_| panic!("server.py did not print a port: {line:?}"));
        Server { child, port }
    }

    fn http() -> Server {
        Server::start(&["serve"])
    }

    fn https() -> Server {
        let c = certs();
        Server::start(&["serve", "--tls", c.leaf.to_str().unwrap(), c.leaf_key.to_str().unwrap()])
    }

    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `upload` with `args`, no proxy variables from the caller's environment
/// unless `env` sets them, and `stdin` fed in.
fn upload_env(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(common::bin());
    cmd.arg("upload").args(args);
    for v in
        ["http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "SSL_CERT_FILE"]
    {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied());
    match stdin {
        None => cmd.stdin(Stdio::null()).output().expect("run kexec-chooser"),
        Some(input) => {
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = cmd.spawn().expect("spawn kexec-chooser");
            let mut pipe = child.stdin.take().expect("stdin");
            let input = input.to_vec();
            let writer = std::thread::spawn(move || std::io::Write::write_all(&mut pipe, &input));
            let out = child.wait_with_output().expect("wait kexec-chooser");
            // A refused input is closed before it ends: that is no failure of the test.
            match writer.join().expect("stdin writer") {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                written => written.expect("write stdin"),
            }
            out
        }
    }
}

fn upload(args: &[&str]) -> Output {
    upload_env(args, &[], None)
}

/// The server's JSON report of a successful upload; fails on anything else.
fn report(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "upload failed: {}", common::stderr(out));
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bad report {e}: {}", common::stdout(out)));
    assert!(v.get("parse_error").is_none(), "the parser refused the body: {v}");
    assert_eq!(v["content_length"], v["received"], "Content-Length must match the bytes sent");
    assert_eq!(v["extra"], 0, "no byte may follow the announced body");
    assert_eq!(v["chunked"], false, "the body must not be chunked");
    v
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("run sha256sum");
    assert!(out.status.success());
    common::stdout(&out).split_whitespace().next().expect("a digest").to_owned()
}

/// A file of `len` bytes that are not all alike (a counter mixed with its index).
fn data_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    let mut x: u32 = 0x1234_5678;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write data file");
    path
}

fn file_named<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["files"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["name"] == name))
        .unwrap_or_else(|| panic!("no file part {name}: {v}"))
}

struct Certs {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    leaf: PathBuf,
    leaf_key: PathBuf,
}

/// A throw-away CA and a server certificate for 127.0.0.1 signed by it, made
/// once per test run with openssl.
fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = |n: &str| dir.path().join(n);
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(dir.path()).output().expect("run openssl");
            assert!(out.status.success(), "openssl {args:?}: {}", common::stderr(&out));
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=kexec-chooser test CA"],
            ]
            .concat(),
        );
        openssl(
            &[&["req", "-new"][..], &ec, &["-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost"]]
                .concat(),
        );
        std::fs::write(
            p("leaf.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write leaf.ext");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ]);
        Certs { ca: p("ca.pem"), leaf: p("leaf.pem"), leaf_key: p("leaf.key"), _dir: dir }
    })
}

#[test]
fn files_arrive_byte_identical_with_fields_and_exact_length() {
    let srv = Server::http();
    let dir = tempfile::tempdir().unwrap();
    let big = data_file(dir.path(), "disk.img", 5 * 1024 * 1024 + 17);
    let empty = data_file(dir.path(), "empty.png", 0);
    let out = upload(&[
        &srv.url("http", "/echo"),
        "-F",
        "title=hello; world",
        "-F",
        "note=plain;type=text/markdown",
        "-F",
        &format!("image=@{}", big.display()),
        "-F",
        &format!("logo=@{};type=image/x-test;filename=renamed.bin", empty.display()),
        "-F",
        &format!("guessed=@{}", empty.display()),
    ]);
    let v = report(&out);
    assert_eq!(v["method"], "POST");
    assert_eq!(v["content_type"], "multipart/form-data");
    let boundary = v["boundary"].as_str().unwrap();
    assert!(boundary.len() >= 24, "boundary {boundary:?} is too short");
    assert_eq!(v["fields"][0]["name"], "title");
    assert_eq!(v["fields"][0]["value"], "hello; world");
    assert_eq!(v["fields"][1]["value"], "plain");
    assert_eq!(v["fields"][1]["content_type"], "text/markdown");
    let image = file_named(&v, "image");
    assert_eq!(image["sha256"], sha256(&big));
    assert_eq!(image["size"], 5 * 1024 * 1024 + 17);
    assert_eq!(image["filename"], "disk.img");
    let logo = file_named(&v, "logo");
    assert_eq!(logo["filename"], "renamed.bin");
    assert_eq!(logo["content_type"], "image/x-test");
    assert_eq!(logo["sha256"], sha256(&empty));
    assert_eq!(file_named(&v, "guessed")["content_type"], "image/png");
}

#[test]
fn awkward_names_arrive_as_sent() {
    let srv = Server::http();
    let dir = tempfile::tempdir().unwrap();
    let f = data_file(dir.path(), "a.txt", 1000);
    let filename = "my \"best\" photo\nline two\r\u{e9}t\u{e9} \u{1F600}.txt";
    let field = "field \"q\"\nname \u{e9}";
    let out = upload(&[
        &srv.url("http", "/echo"),
        "-F",
        &format!("{field}=value with \"quotes\"\r\nand lines"),
        "-F",
        &format!("up \"file\"=@{};filename=\"{}\"", f.display(), filename.replace('"', "\\\"")),
    ]);
    let v = report(&out);
    assert_eq!(v["fields"][0]["name"], field);
    assert_eq!(v["fields"][0]["value"], "value with \"quotes\"\r\nand lines");
    let up = file_named(&v, "up \"file\"");
    assert_eq!(up["filename"], filename);
    assert_eq!(up["sha256"], sha256(&f));
}

#[test]
fn stdin_is_spooled_and_sent_with_its_length() {
    let srv = Server::http();
    let dir = tempfile::tempdir().unwrap();
    let f = data_file(dir.path(), "in.bin", 300_000);
    let data = std::fs::read(&f).unwrap();
    let out = upload_env(&[&srv.url("http", "/echo"), "-F", "piped=@-;filename=from-pipe.bin"], &[], Some(&data));
    let v = report(&out);
    let piped = file_named(&v, "piped");
    assert_eq!(piped["sha256"], sha256(&f));
    assert_eq!(piped["filename"], "from-pipe.bin");
}

#[test]
fn put_and_extra_headers_are_sent() {
    let srv = Server::http();
    let out = upload(&[&srv.url("http", "/echo"), "--method", "PUT", "-H", "X-Token: s3cret", "-F", "a=b"]);
    let v = report(&out);
    assert_eq!(v["method"], "PUT");
    assert_eq!(v["headers"]["x-token"], "s3cret");
}

#[test]
fn output_flag_takes_the_answer_and_stdout_stays_empty() {
    let srv = Server::http();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("answer.json");
    let out = upload(&[&srv.url("http", "/echo"), "-F", "a=b", "--output", dest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(out.stdout.is_empty());
    let v: Value = serde_json::from_slice(&std::fs::read(&dest).unwrap()).unwrap();
    assert_eq!(v["fields"][0]["value"], "b");
}

#[test]
fn output_replaces_a_symlink_at_its_name_instead_of_writing_through_it() {
    use std::os::unix::fs::PermissionsExt;
    let srv = Server::http();
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let dest = dir.path().join("answer.json");
    std::os::unix::fs::symlink(&victim, &dest).unwrap();
    let out = upload(&[&srv.url("http", "/echo"), "-F", "a=b", "--output", dest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n", "written through the link");
    assert_eq!(std::fs::metadata(&victim).unwrap().permissions().mode() & 0o7777, 0o600);
    assert!(std::fs::symlink_metadata(&dest).unwrap().file_type().is_file());
    let v: Value = serde_json::from_slice(&std::fs::read(&dest).unwrap()).unwrap();
    assert_eq!(v["fields"][0]["value"], "b");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "no temporary left: {left:?}");
}

#[test]
fn output_gets_the_mode_a_plain_create_would_under_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let srv = Server::http();
    let dir = tempfile::tempdir().unwrap();
    for (umask, mode) in [("077", 0o600), ("022", 0o644)] {
        let dest = dir.path().join(format!("answer-{umask}.json"));
        let out = Command::new("bash")
            .args(["-c", r#"umask "$1"; shift; exec "$@""#, "bash", umask])
            .arg(common::bin())
            .args(["upload", &srv.url("http", "/echo"), "-F", "a=b", "--output", dest.to_str().unwrap()])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let got = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777;
        assert_eq!(got, mode, "umask {umask}: mode {got:o}");
    }
}

#[test]
fn a_failed_output_write_leaves_the_old_file() {
    let srv = Server::http();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("no/such/dir/answer.json");
    let out = upload(&[&srv.url("http", "/echo"), "-F", "a=b", "--output", dest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains(dest.to_str().unwrap()), "{}", common::stderr(&out));
}

#[test]
fn error_status_exits_non_zero_with_status_line_and_short_body() {
    let srv = Server::http();
    for code in ["404", "503"] {
        let out = upload(&[&srv.url("http", &format!("/status/{code}")), "-F", "a=b"]);
        assert_eq!(out.status.code(), Some(3), "{code}");
        let err = common::stderr(&out);
        assert!(err.contains(&format!("HTTP/1.1 {code} ")), "{err}");
        assert!(err.contains(&format!("nope: {code}")), "the short body is shown: {err}");
        assert!(out.stdout.is_empty(), "a failed answer does not go to stdout");
    }
    let out = upload(&[&srv.url("http", "/bigerror"), "-F", "a=b"]);
    assert_eq!(out.status.code(), Some(3));
    let err = common::stderr(&out);
    assert!(err.contains("HTTP/1.1 500 ") && err.contains("not shown") && !err.contains("xxxx"), "{err}");
}

#[test]
fn an_answer_sent_before_the_body_ends_is_reported() {
    let srv = Server::http();
    let dir = tempfile::tempdir().unwrap();
    let f = data_file(dir.path(), "big.bin", 8 * 1024 * 1024);
    let out = upload(&[&srv.url("http", "/early"), "-F", &format!("f=@{}", f.display())]);
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    let err = common::stderr(&out);
    assert!(err.contains("HTTP/1.1 413 ") && err.contains("too large"), "{err}");
}

#[test]
fn a_file_that_shrinks_during_the_upload_fails_it() {
    let srv = Server::http();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinking.img");
    // Sparse: 256 MiB of zeros, far more than the socket buffers hold while
    // the server waits, so the client is still reading when it shrinks.
    std::fs::File::create(&path).unwrap().set_len(256 << 20).unwrap();
    let child = spawn_upload(&[&srv.url("http", "/slow"), "-F", &format!("f=@{}", path.display())]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(1 << 20).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("shrank while it was sent"), "{}", common::stderr(&out));
}

#[test]
fn refused_connection_fails_naming_the_target() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = upload(&[&format!("http://127.0.0.1:{port}/"), "-F", "a=b"]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    assert!(err.contains(&format!("cannot connect to 127.0.0.1:{port}")), "{err}");
}

#[test]
fn missing_file_fails_before_any_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out =
        upload(&[&format!("http://127.0.0.1:{port}/"), "-F", "a=b", "-F", "f=@/nonexistent/kexec-chooser-upload"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains("/nonexistent/kexec-chooser-upload"), "{}", common::stderr(&out));
    listener.set_nonblocking(true).unwrap();
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the server saw a connection: {accepted:?}"
    );
}

#[test]
fn bad_form_arguments_are_usage_errors() {
    for bad in ["novalue", "f=@a;color=red", "f=@\"unterminated"] {
        let out = upload(&["http://127.0.0.1:9/", "-F", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(common::stderr(&out).contains("bad -F"), "{}", common::stderr(&out));
    }
    let out = upload(&["ftp://127.0.0.1/", "-F", "a=b"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn self_signed_tls_fails_without_insecure_and_works_with_it() {
    let srv = Server::https();
    let dir = tempfile::tempdir().unwrap();
    let f = data_file(dir.path(), "tls.bin", 2_000_000);
    let form = format!("f=@{}", f.display());
    let url = srv.url("https", "/echo");

    let out = upload(&[&url, "-F", &form]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    assert!(err.contains("TLS") && err.contains("--insecure"), "{err}");

    let out = upload(&[&url, "-F", &form, "--insecure"]);
    assert!(common::stderr(&out).contains("warning: --insecure"), "{}", common::stderr(&out));
    assert_eq!(file_named(&report(&out), "f")["sha256"], sha256(&f));

    // With the CA that signed it, verification passes without --insecure.
    let out = upload(&[&url, "-F", &form, "--cacert", certs().ca.to_str().unwrap()]);
    assert!(!common::stderr(&out).contains("warning"), "{}", common::stderr(&out));
    assert_eq!(file_named(&report(&out), "f")["sha256"], sha256(&f));
}

#[test]
fn redirect_307_and_308_resend_the_body_but_303_is_not_followed() {
    let srv = Server::http();
    let dir = tempfile::tempdir().unwrap();
    let f = data_file(dir.path(), "r.bin", 700_000);
    let form = format!("f=@{}", f.display());
    for code in ["307", "308"] {
        let out = upload(&[&srv.url("http", &format!("/redirect/{code}?to=/echo")), "-F", &form]);
        let v = report(&out);
        assert_eq!(v["path"], "/echo");
        assert_eq!(file_named(&v, "f")["sha256"], sha256(&f));
        assert!(common::stderr(&out).contains("redirected"), "{}", common::stderr(&out));
    }
    let out = upload(&[&srv.url("http", "/redirect/303?to=/echo"), "-F", &form]);
    assert_eq!(out.status.code(), Some(3));
    assert!(common::stderr(&out).contains("not following"), "{}", common::stderr(&out));
}

#[test]
fn progress_bar_is_absent_off_a_terminal_unless_asked() {
    let srv = Server::http();
    let out = upload(&[&srv.url("http", "/echo"), "-F", "a=b"]);
    report(&out);
    assert!(out.stderr.is_empty(), "no bar without a terminal: {}", common::stderr(&out));
    let out = upload(&[&srv.url("http", "/echo"), "-F", "a=b", "--progress"]);
    report(&out);
    assert!(common::stderr(&out).contains("100%"), "{}", common::stderr(&out));
    let out = upload(&[&srv.url("http", "/echo"), "-F", "a=b", "--progress", "--no-progress"]);
    assert!(out.stderr.is_empty(), "the last flag wins: {}", common::stderr(&out));
}

/// Run `upload` with stdin, stdout and stderr on a pseudo-terminal (Python's
/// pty module), and give everything the terminal showed.
fn upload_on_terminal(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new("python3")
        .args(["-c", "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)"])
        .arg(common::bin())
        .arg("upload")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run python3 pty");
    (out.status.code(), common::stdout(&out))
}

#[test]
fn progress_bar_is_drawn_on_a_terminal_by_default() {
    let srv = Server::http();
    let dir = tempfile::tempdir().unwrap();
    let f = data_file(dir.path(), "p.bin", 3 * 1024 * 1024);
    let form = format!("f=@{}", f.display());
    let (code, screen) = upload_on_terminal(&[&srv.url("http", "/echo"), "-F", &form]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("100%") && screen.contains("3.0 MiB / 3.0 MiB"), "{screen}");
    let (code, screen) = upload_on_terminal(&[&srv.url("http", "/echo"), "-F", &form, "--no-progress"]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(!screen.contains("100%") && screen.contains("\"sha256\""), "{screen}");
}

#[test]
fn http_proxy_forwards_plain_http_uploads() {
    let srv = Server::http();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("proxy.log");
    let proxy = Server::start(&["proxy", log.to_str().unwrap()]);
    let f = data_file(dir.path(), "via.bin", 1_500_000);
    let url = srv.url("http", "/echo?x=1");
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let out = upload_env(&[&url, "-F", &format!("f=@{}", f.display())], &[("http_proxy", &proxy_url)], None);
    let v = report(&out);
    assert_eq!(v["path"], "/echo?x=1");
    assert_eq!(file_named(&v, "f")["sha256"], sha256(&f));
    let seen = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(seen.contains(&format!("POST {url}")), "the proxy saw: {seen:?}");
}

#[test]
fn https_proxy_carries_the_upload_and_no_proxy_bypasses_it() {
    let srv = Server::https();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("proxy.log");
    let proxy = Server::start(&["proxy", log.to_str().unwrap()]);
    let ca = certs().ca.to_str().unwrap().to_owned();
    let url = srv.url("https", "/echo");
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);

    let out = upload_env(&[&url, "-F", "a=b", "--cacert", &ca], &[("HTTPS_PROXY", &proxy_url)], None);
    report(&out);
    let seen = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(seen.contains(&format!("CONNECT 127.0.0.1:{}", srv.port)), "the proxy saw: {seen:?}");

    // A dead proxy is bypassed for hosts NO_PROXY names, and fails the others.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let out = upload_env(
        &[&url, "-F", "a=b", "--cacert", &ca],
        &[("HTTPS_PROXY", &dead), ("NO_PROXY", "localhost,127.0.0.1")],
        None,
    );
    report(&out);
    let out =
        upload_env(&[&url, "-F", "a=b", "--cacert", &ca], &[("HTTPS_PROXY", &dead), ("NO_PROXY", "example.org")], None);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
}

/// A one-shot server on 127.0.0.1 that takes one whole request and answers
/// `answer` as it is: the hostile server of the escaping tests.
fn answer_once(answer: &'static [u8]) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // The head, then as many body bytes as its Content-Length says.
        loop {
            let n = conn.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            if let Some(end) = text.find("\r\n\r\n") {
                let len: usize = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if got.len() >= end + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        conn.write_all(answer).unwrap();
    });
    (port, handle)
}

#[test]
fn the_servers_status_line_location_and_body_are_shown_escaped() {
    let (port, h) = answer_once(
        b"HTTP/1.1 302 Found \x1b]0;owned\x07\r\nLocation: /next\x1b[2J\r\nContent-Length: 26\r\nConnection: close\r\n\r\nline one\x1b[31m\r\nline two\x07\r\n",
    );
    let out = upload(&[&format!("http://127.0.0.1:{port}/"), "-F", "a=b"]);
    h.join().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = common::stderr(&out);
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    assert!(err.contains("the server answered HTTP/1.1 302 Found \\033]0;owned\\007\n"), "{err}");
    assert!(err.contains("not following the redirect to /next\\033[2J:"), "{err}");
    assert!(err.contains("\nline one\\033[31m\nline two\\007\n"), "one line per line of the body: {err}");
}

/// Start `upload` with `args`, no proxy, stdin empty, stdout and stderr piped.
fn spawn_upload(args: &[&str]) -> Child {
    Command::new(common::bin())
        .arg("upload")
        .args(args)
        .env_remove("http_proxy")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kexec-chooser")
}

/// Run `upload` with `args`, killing it if it runs longer than `limit`:
/// a hang fails the test instead of stopping the run.
fn upload_within(args: &[&str], limit: std::time::Duration) -> Output {
    let mut child = spawn_upload(args);
    let start = std::time::Instant::now();
    while child.try_wait().expect("wait kexec-chooser").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("reap kexec-chooser");
            panic!("upload {args:?} still ran after {limit:?}; stderr: {}", common::stderr(&out));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect kexec-chooser")
}

#[test]
fn endless_interim_answers_end_in_a_clear_error() {
    let srv = Server::http();
    let port = srv.port.to_string();
    for path in ["/continue/flood", "/continue/trickle"] {
        let out = upload_within(
            &[&srv.url("http", path), "-F", "a=b", "--stall-timeout", "1"],
            std::time::Duration::from_secs(10),
        );
        assert_eq!(out.status.code(), Some(1), "{path}: {}", common::stderr(&out));
        let err = common::stderr(&out);
        assert!(err.contains(&port), "{path}: the server is named: {err}");
        assert!(err.contains("interim") || err.contains("stalled"), "{path}: {err}");
    }
}

#[test]
fn a_trickle_of_interim_answers_does_not_hold_off_the_stall_timeout() {
    let srv = Server::http();
    let start = std::time::Instant::now();
    let out = upload_within(
        &[&srv.url("http", "/continue/trickle"), "-F", "a=b", "--stall-timeout", "1"],
        std::time::Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let err = common::stderr(&out);
    assert!(err.contains("stalled while waiting for the answer: no progress for 1 s"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(4), "took {:?}", start.elapsed());
}

#[test]
fn answers_with_conflicting_framing_are_refused() {
    let srv = Server::http();
    for (name, says) in [
        ("length-differs", "differing Content-Length"),
        ("length-list-differs", "differing Content-Length"),
        ("length-signed", "bad Content-Length"),
        ("chunked-and-length", "both Transfer-Encoding and Content-Length"),
        ("gzip-coding", "transfer coding"),
    ] {
        let out = upload(&[&srv.url("http", &format!("/raw/{name}")), "-F", "a=b"]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", common::stderr(&out));
        let err = common::stderr(&out);
        assert!(err.contains("sent a malformed answer") && err.contains(says), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: nothing of the answer is passed on");
    }
}

#[test]
fn identical_content_lengths_fold_into_one_and_folded_lines_belong_to_their_field() {
    let srv = Server::http();
    for name in ["length-same-twice", "folded-length"] {
        let out = upload(&[&srv.url("http", &format!("/raw/{name}")), "-F", "a=b"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", common::stderr(&out));
        assert_eq!(common::stdout(&out), "ok", "{name}");
    }
}

#[test]
fn a_stall_names_the_server_the_phase_and_the_time() {
    let srv = Server::http();
    let target = format!("127.0.0.1:{}", srv.port);
    let dir = tempfile::tempdir().unwrap();
    // Far more than the socket buffers hold: the server reads none of it.
    let big = dir.path().join("big.img");
    std::fs::File::create(&big).unwrap().set_len(256 << 20).unwrap();
    for (path, form, phase) in [
        ("/stall", format!("f=@{}", big.display()), "while sending the body"),
        ("/stall", "a=b".to_owned(), "while waiting for the answer"),
        ("/stall-answer", "a=b".to_owned(), "while reading the answer"),
    ] {
        let out = upload_within(
            &[&srv.url("http", path), "-F", &form, "--stall-timeout", "1"],
            std::time::Duration::from_secs(15),
        );
        assert_eq!(out.status.code(), Some(1), "{phase}: {}", common::stderr(&out));
        let err = common::stderr(&out);
        assert!(
            err.contains(&format!("{target} stalled {phase}: no progress for 1 s (--stall-timeout)")),
            "{phase}: {err}"
        );
    }
}

#[test]
fn a_source_that_must_be_spooled_is_bounded_by_the_spool_limit() {
    let srv = Server::http();
    let url = srv.url("http", "/echo");
    // A device without end: without a bound it would fill TMPDIR.
    let out = upload_within(&[&url, "-F", "z=</dev/zero", "--spool-limit", "1M"], std::time::Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let err = common::stderr(&out);
    assert!(err.contains("/dev/zero") && err.contains("spool limit of 1.0 MiB"), "{err}");
    assert!(err.contains("--spool-limit"), "the error says how to raise it: {err}");

    // A pipe on stdin: under the limit it goes, over it it is refused by name.
    let data = vec![7u8; 600 * 1024];
    let v = report(&upload_env(&[&url, "-F", "p=@-", "--spool-limit", "1M"], &[], Some(&data)));
    assert_eq!(file_named(&v, "p")["size"], data.len());
    let out = upload_env(&[&url, "-F", "p=@-", "--spool-limit", "512K"], &[], Some(&data));
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("standard input"), "{}", common::stderr(&out));
}
