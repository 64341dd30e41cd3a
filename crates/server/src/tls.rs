//! HTTPS for the API, the websocket (wss) and the map: the certificate
//! chain and private key read from PEM files into a rustls server
//! configuration (the ring provider, TLS 1.2 and 1.3, HTTP/1.1 by ALPN).
//!
//! Everything wrong with the files is a [`TlsError`] naming the file and
//! what is wrong with it, found at start, before the server listens: a
//! certificate that cannot be used must stop the start, never a handshake.
//! [`crate::listener`] serves over it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A loaded certificate and key, ready to serve. Cheap to clone.
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) server: Arc<ServerConfig>,
    /// Where the certificate chain came from (for messages).
    pub cert: PathBuf,
    /// Accepted, but worth telling the operator (one line each).
    pub warnings: Vec<String>,
}

/// Why a certificate or key cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS {what} {}: {source}", file.display())]
    Read {
        what: &'static str,
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("the TLS {what} {}: {problem}", file.display())]
    Invalid {
        what: &'static str,
        file: PathBuf,
        problem: String,
    },
    #[error(
        "the TLS certificate {} and key {} cannot serve together: {problem}",
        cert.display(),
        key.display()
    )]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        problem: String,
    },
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads the PEM certificate chain (the server's certificate first, then
    /// the intermediates) and the PEM private key (PKCS#8, PKCS#1 RSA or
    /// SEC1 EC, without a passphrase), and checks that they belong together.
    pub fn load(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let chain = read_chain(cert)?;
        let private = read_key(key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let pair = |problem: String| TlsError::Pair {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            problem,
        };
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(rustls::DEFAULT_VERSIONS)
            .map_err(|e| pair(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|e| pair(pair_problem(&e)))?;
        // The server speaks HTTP/1.1 (the websocket's upgrade needs it).
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig {
            server: Arc::new(server),
            cert: cert.to_path_buf(),
            warnings: key_permissions(key).into_iter().collect(),
        })
    }
}

fn read(what: &'static str, file: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(file).map_err(|source| TlsError::Read {
        what,
        file: file.to_path_buf(),
        source,
    })
}

fn read_chain(file: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let what = "certificate";
    let bytes = read(what, file)?;
    let invalid = |problem: String| TlsError::Invalid {
        what,
        file: file.to_path_buf(),
        problem,
    };
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(pem_problem(&e)))?;
    if chain.is_empty() {
        let hint = if PrivateKeyDer::from_pem_slice(&bytes).is_ok() {
            " (it holds a private key: are the certificate and the key swapped?)"
        } else {
            ""
        };
        return Err(invalid(format!(
            "holds no PEM certificate (`-----BEGIN CERTIFICATE-----`){hint}"
        )));
    }
    Ok(chain)
}

fn read_key(file: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let what = "private key";
    let bytes = read(what, file)?;
    let invalid = |problem: String| TlsError::Invalid {
        what,
        file: file.to_path_buf(),
        problem,
    };
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(k) => Ok(k),
        Err(pem::Error::NoItemsFound) => {
            let text = String::from_utf8_lossy(&bytes);
            Err(invalid(if text.contains("ENCRYPTED PRIVATE KEY") {
                "is encrypted with a passphrase: give the key without one (`openssl pkey -in KEY -out KEY.plain`), readable by the server's user only".to_owned()
            } else if text.contains("BEGIN CERTIFICATE") {
                "holds a certificate, not a private key (are the certificate and the key swapped?)"
                    .to_owned()
            } else {
                "holds no PEM private key (`-----BEGIN PRIVATE KEY-----`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`)".to_owned()
            }))
        }
        Err(e) => Err(invalid(pem_problem(&e))),
    }
}

/// A PEM error in words (the library's shows the lines as byte arrays).
fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { .. } => {
            "a PEM block has no `-----END ...-----` line (is the file cut short?)".to_owned()
        }
        pem::Error::IllegalSectionStart { .. } => "a PEM `-----BEGIN` line is malformed".to_owned(),
        pem::Error::Base64Decode(why) => format!("a PEM block is not valid base64 ({why})"),
        other => format!("not readable as PEM: {other}"),
    }
}

fn pair_problem(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            "the private key is not the certificate's (the first certificate in the chain must be the server's own)".to_owned()
        }
        other => format!("rustls refuses them: {other}"),
    }
}

/// A private key others may read is a token thief's way in.
#[cfg(unix)]
fn key_permissions(key: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(key).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "the TLS private key {} can be read by other users (mode {:o}): `chmod 600` it",
            key.display(),
            mode & 0o777
        )
    })
}

#[cfg(not(unix))]
fn key_permissions(_key: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate for localhost and its key, in PEM.
    fn pair() -> (String, String) {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .unwrap_or_else(|e| panic!("{e}"));
        (c.cert.pem(), c.signing_key.serialize_pem())
    }

    /// Files in a directory of their own, removed when dropped.
    struct Files {
        dir: PathBuf,
    }

    impl Files {
        fn new(name: &str) -> Files {
            let dir = std::env::temp_dir().join(format!("tls-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            Files { dir }
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let p = self.dir.join(name);
            std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            p
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn check(cert: &Path, key: &Path, expected: &[&str]) {
        let e = match TlsConfig::load(cert, key) {
            Ok(_) => panic!("loaded; expected an error with {expected:?}"),
            Err(e) => e.to_string(),
        };
        for x in expected {
            assert!(e.contains(x), "`{e}` does not contain `{x}`");
        }
    }

    #[test]
    fn a_matching_pair_loads_and_a_key_others_can_read_is_warned_about() {
        let f = Files::new("good");
        let (c, k) = pair();
        let (cert, key) = (f.write("cert.pem", &c), f.write("key.pem", &k));
        let t = TlsConfig::load(&cert, &key).unwrap_or_else(|e| panic!("{e}"));
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.server.alpn_protocols, vec![b"http/1.1".to_vec()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644))
                .unwrap_or_else(|e| panic!("{e}"));
            let t = TlsConfig::load(&cert, &key).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
            assert!(
                t.warnings[0].contains("mode 644") && t.warnings[0].contains("chmod 600"),
                "{:?}",
                t.warnings
            );
        }
    }

    #[test]
    fn every_wrong_file_is_named_with_what_is_wrong() {
        let f = Files::new("bad");
        let (c, k) = pair();
        let (cert, key) = (f.write("cert.pem", &c), f.write("key.pem", &k));
        let missing = f.dir.join("nowhere.pem");
        check(
            &missing,
            &key,
            &["cannot read the TLS certificate", "nowhere.pem"],
        );
        check(
            &cert,
            &missing,
            &["cannot read the TLS private key", "nowhere.pem"],
        );
        let garbage = f.write("garbage.pem", "hello\n");
        check(
            &garbage,
            &key,
            &["certificate", "garbage.pem", "holds no PEM certificate"],
        );
        check(
            &cert,
            &garbage,
            &["private key", "garbage.pem", "holds no PEM private key"],
        );
        check(&key, &cert, &["key.pem", "swapped"]);
        let cut = f.write("cut.pem", &k[..k.len() / 2]);
        check(&cert, &cut, &["cut.pem", "no `-----END"]);
        let bad64 = f.write(
            "bad64.pem",
            "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
        );
        check(&cert, &bad64, &["bad64.pem", "base64"]);
        let encrypted = f.write(
            "enc.pem",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        );
        check(&cert, &encrypted, &["enc.pem", "passphrase"]);
        let (_, other) = pair();
        let other = f.write("other.pem", &other);
        check(
            &cert,
            &other,
            &["cert.pem", "other.pem", "not the certificate's"],
        );
        let junk_key = f.write(
            "junk.pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        check(&cert, &junk_key, &["junk.pem", "rustls refuses them"]);
    }
}
