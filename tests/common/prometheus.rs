//! A real Prometheus (Debian's `prometheus` package) on a free loopback port, for tests that
//! check what Prometheus itself makes of the exporter.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Prometheus; killed on drop.
pub struct Prometheus {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Prometheus with `config_yaml`, storing in `data`, and waits until it is ready.
pub async fn start_prometheus(dir: &Path, data: &Path, config_yaml: &str) -> Prometheus {
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, config_yaml).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg("--storage.tsdb.retention.time=800d")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "prometheus is installed (Debian package `prometheus`; scripts/test.sh installs it)",
        );
    let p = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("{}/-/ready", p.url)).await {
            if r.status() == 200 {
                return p;
            }
        }
        assert!(Instant::now() < deadline, "prometheus did not become ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
