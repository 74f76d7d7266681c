//! Shared helpers of the benchmark binaries: percentiles and peak RSS.

use std::time::Duration;

/// The `p`-th percentile (0..=100) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// "p50 … ms, p99 … ms" of unsorted samples.
pub fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 99.0)),
        ms(*samples.last().unwrap_or(&Duration::ZERO))
    )
}

/// This process's peak resident set size in MiB (VmHWM).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// A blocking HTTP/1.1 keep-alive connection (enough for GETs with Content-Length).
pub struct Connection {
    stream: std::io::BufReader<std::net::TcpStream>,
    host: String,
}

impl Connection {
    /// Connects to `host:port`.
    pub fn open(host: &str) -> std::io::Result<Self> {
        let stream = std::net::TcpStream::connect(host)?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: std::io::BufReader::new(stream),
            host: host.to_owned(),
        })
    }

    /// Sends a GET and reads the whole response; returns the status.
    pub fn get(&mut self, path: &str, token: &str) -> std::io::Result<u16> {
        use std::io::{BufRead, Read, Write};
        write!(
            self.stream.get_mut(),
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\r\n",
            self.host
        )?;
        let mut status = 0;
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if self.stream.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if status == 0 {
                status = l.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            } else if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body)?;
        Ok(status)
    }
}
