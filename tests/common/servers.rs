//! Real `redis-server` and `nginx` processes for the scale-out tests, each on a free loopback
//! port with its files in a temporary directory. Never the machine's own Redis on 6379.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::process::free_port;

/// Waits until something accepts TCP connections on `port` (or panics after `limit`).
fn wait_for_port(port: u16, what: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `redis-server` with an append-only file that is fsynced on every write, so a restart
/// loses nothing Redis acknowledged.
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start(dir: &Path) -> RedisServer {
        let mut r = RedisServer {
            port: free_port(),
            dir: dir.to_owned(),
            child: None,
        };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server must be installed (scripts/setup.sh installs it)");
        self.child = Some(child);
        wait_for_port(self.port, "redis-server", Duration::from_secs(10));
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// SIGKILL: Redis gets no chance to save anything beyond its append-only file.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port with the same files.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Runs one command (e.g. `FLUSHALL`) through a client of its own.
    pub async fn command(&self, args: &[&str]) -> redis::Value {
        let client = redis::Client::open(self.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query_async(&mut conn).await.unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// nginx running the repository's `deploy/nginx.conf`, with only its ports and paths rewritten.
pub struct Nginx {
    pub port: u16,
    child: Child,
}

impl Nginx {
    pub fn start(dir: &Path, upstreams: &[u16]) -> Nginx {
        let port = free_port();
        let conf =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx.conf"))
                .expect("deploy/nginx.conf");
        let servers: String = upstreams
            .iter()
            .map(|p| format!("        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n"))
            .collect();
        let mut out = String::new();
        let mut in_upstream = false;
        let mut listed = false;
        for line in conf.lines() {
            let t = line.trim_start();
            if t.starts_with("upstream pulse {") {
                in_upstream = true;
            }
            if in_upstream && t.starts_with("server 127.0.0.1:") {
                if !listed {
                    out.push_str(&servers);
                    listed = true;
                }
                continue;
            }
            if t.starts_with('}') {
                in_upstream = false;
            }
            let line = if t.starts_with("pid ") {
                format!("pid {}/nginx.pid;", dir.display())
            } else if t.starts_with("listen 127.0.0.1:8080;") {
                format!("        listen 127.0.0.1:{port};")
            } else {
                line.to_owned()
            };
            out.push_str(&line);
            out.push('\n');
        }
        let path = dir.join("nginx.conf");
        std::fs::write(&path, out).unwrap();
        // Debian puts it in /usr/sbin, which is not on every user's PATH.
        let bin = if Path::new("/usr/sbin/nginx").exists() {
            "/usr/sbin/nginx"
        } else {
            "nginx"
        };
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&path)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx must be installed (scripts/setup.sh installs it)");
        wait_for_port(port, "nginx", Duration::from_secs(10));
        Nginx { port, child }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nginx {
    /// SIGTERM, not SIGKILL: a killed master leaves its workers behind, still listening.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
