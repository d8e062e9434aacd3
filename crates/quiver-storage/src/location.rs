//! A place backups can live, reached through `object_store`: a local directory or an S3 prefix.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::{Path, PathPart};
use object_store::{
    ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig, WriteMultipart,
};
use tokio::runtime::Runtime;
use url::Url;

use crate::{Error, Result};

/// Why a storage URL with a user part is refused.
const CREDENTIALS_REFUSED: &str = "credentials do not belong in a storage URL, which is stored and shown: give them in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or as -o access_key_id=… -o secret_access_key=…";

/// Objects up to this size are copied with one PUT; larger ones as a multipart upload of
/// parts this size (S3's minimum part is 5 MiB).
const PART_BYTES: usize = 8 << 20;
/// Parts of one upload in flight at once: memory is bounded by `(1 + this) * PART_BYTES`.
const PARTS_IN_FLIGHT: usize = 2;

/// Size and crc32 of an object, computed while it streamed past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// Bytes.
    pub bytes: u64,
    /// crc32 (IEEE) of the bytes.
    pub crc32: u32,
}

#[derive(Debug, Default)]
struct Hasher {
    crc: crc32fast::Hasher,
    bytes: u64,
}

impl Hasher {
    fn update(&mut self, chunk: &[u8]) {
        self.crc.update(chunk);
        self.bytes += chunk.len() as u64;
    }

    fn finish(self) -> Digest {
        Digest {
            bytes: self.bytes,
            crc32: self.crc.finalize(),
        }
    }
}

/// `url` with anything that may be a secret replaced by `***`: everything between `://` and
/// the last `@` (a user part, even one whose password holds `/`, `?` or `@`: more may be hidden
/// than was secret, never less), and a query string. For showing a URL that came from a user
/// or an old definition.
///
/// ```
/// use quiver_storage::redacted;
/// assert_eq!(redacted("s3://AKIA:s3cr3t@bucket/p"), "s3://***@bucket/p");
/// assert_eq!(redacted("s3://AKIA:ab/c?d@bucket/p"), "s3://***@bucket/p");
/// assert_eq!(redacted("s3://bucket/p?token=x"), "s3://bucket/p?***");
/// assert_eq!(redacted("file:///tmp/x"), "file:///tmp/x");
/// ```
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return match url.split_once('?') {
            Some((before, _)) => format!("{before}?***"),
            None => url.to_string(),
        };
    };
    let rest = match rest.rfind('@') {
        Some(at) => format!("***{}", &rest[at..]),
        None => rest.to_string(),
    };
    match rest.split_once('?') {
        Some((before, _)) => format!("{scheme}://{before}?***"),
        None => format!("{scheme}://{rest}"),
    }
}

/// `text` with every secret a URL in it may hold replaced by `*`s, one per character (so
/// that a caret under the text still lines up): in each URL (up to a blank or a quote),
/// everything between `://` and its last `@`, and its query string.
///
/// ```
/// use quiver_storage::mask_secrets;
/// assert_eq!(
///     mask_secrets("STORAGE = 's3://AK:s/3@b/p' and GET http://u:p),@h/x?sig=1 done"),
///     "STORAGE = 's3://******@b/p' and GET http://*****@h/x?***** done"
/// );
/// ```
pub fn mask_secrets(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = chars.clone();
    let stop = |c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`');
    let mut i = 0;
    while i + 2 < chars.len() {
        if chars[i] != ':' || chars[i + 1] != '/' || chars[i + 2] != '/' {
            i += 1;
            continue;
        }
        let start = i + 3;
        let mut end = start;
        while end < chars.len() && !stop(chars[end]) {
            end += 1;
        }
        // A database URL's user name is no secret, its password is; in any other URL the
        // whole user part may be a key.
        let scheme: String = chars[..i]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
            .to_ascii_lowercase();
        let database = scheme == "postgres" || scheme == "postgresql";
        let after_user = match (start..end).rev().find(|&k| chars[k] == '@') {
            Some(at) => {
                let from = match (start..at).find(|&k| chars[k] == ':') {
                    Some(colon) if database => colon + 1,
                    None if database => at,
                    _ => start,
                };
                out[from..at].iter_mut().for_each(|c| *c = '*');
                at
            }
            None => start,
        };
        if let Some(query) = (after_user..end).find(|&k| chars[k] == '?') {
            out[query + 1..end].iter_mut().for_each(|c| *c = '*');
        }
        i = end.max(i + 3);
    }
    // Keyword-form connection strings: `password=...`.
    let lower: Vec<char> = chars.iter().map(|c| c.to_ascii_lowercase()).collect();
    let key: Vec<char> = "password=".chars().collect();
    let mut i = 0;
    while i + key.len() <= lower.len() {
        if lower[i..i + key.len()] == key[..] {
            let mut end = i + key.len();
            while end < chars.len() && !stop(chars[end]) {
                out[end] = '*';
                end += 1;
            }
            i = end;
        } else {
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// A root in a store: `file:///abs/dir` or `s3://bucket/prefix`. Paths below it are
/// relative, `/`-separated (`<backup id>/data/<file>`). Every call blocks until done.
#[derive(Debug, Clone)]
pub struct Location {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    url: String,
    /// The directory, for a local location.
    local: Option<std::path::PathBuf>,
}

impl Location {
    /// The location at `url`: `file:///abs/dir`, a plain directory path (made absolute), or
    /// `s3://bucket/prefix`. S3 settings come from the usual environment variables
    /// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, …);
    /// see [`Location::parse_with`] to give them explicitly.
    pub fn parse(url: &str) -> Result<Location> {
        Location::parse_with(url, &[])
    }

    /// Like [`Location::parse`], with S3 options (`endpoint`, `region`, `access_key_id`,
    /// `secret_access_key`, `allow_http`, …: object_store's `AmazonS3ConfigKey` names) that
    /// take precedence over the environment.
    ///
    /// A URL with credentials in it (`s3://KEY:SECRET@bucket/p`) or a query string is
    /// refused: it would be stored in `collection.json` and shown by SHOW; credentials come
    /// from the environment or `-o`. No error repeats what such a URL held.
    pub fn parse_with(url: &str, options: &[(String, String)]) -> Result<Location> {
        let invalid = |message: String| Error::InvalidUrl {
            url: redacted(url),
            message,
        };
        if !url.contains("://") {
            return Location::local_dir(std::path::Path::new(url));
        }
        // Before parsing: a password may hold characters (`/`, `?`) that make the URL
        // unparsable, and the refusal must still say why.
        let has_user_part = url
            .split_once("://")
            .is_some_and(|(_, rest)| rest.contains('@'));
        if has_user_part {
            return Err(invalid(CREDENTIALS_REFUSED.into()));
        }
        let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid(CREDENTIALS_REFUSED.into()));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(invalid(
                "a storage URL has no query string or fragment: give S3 settings in the environment (AWS_*) or with -o key=value".into(),
            ));
        }
        match parsed.scheme().to_ascii_lowercase().as_str() {
            "file" => {
                let dir = parsed.to_file_path().map_err(|()| {
                    invalid("a file URL needs an absolute path: file:///dir".into())
                })?;
                Location::local_dir(&dir)
            }
            "s3" => {
                let bucket = parsed.host_str().unwrap_or_default();
                if bucket.is_empty() {
                    return Err(invalid(
                        "an S3 URL names its bucket: s3://bucket/prefix".into(),
                    ));
                }
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
                for (key, value) in options {
                    let key = key
                        .to_ascii_lowercase()
                        .parse()
                        .map_err(|_| invalid(format!("unknown S3 option `{key}`")))?;
                    builder = builder.with_config(key, value);
                }
                // A test server or a private gateway on plain HTTP needs no extra switch when
                // its endpoint says http:// itself.
                let endpoint =
                    builder.get_config_value(&"aws_endpoint".parse().expect("known key"));
                // An endpoint with a user part would carry credentials into every error
                // object_store writes; and object_store panics on some malformed endpoints.
                if endpoint
                    .as_ref()
                    .and_then(|e| e.split_once("://"))
                    .is_some_and(|(_, rest)| rest.contains('@'))
                {
                    return Err(invalid(CREDENTIALS_REFUSED.into()));
                }
                if let Some(endpoint) = &endpoint
                    && Url::parse(endpoint).is_err()
                {
                    return Err(invalid(format!(
                        "the S3 endpoint `{}` is not a URL (e.g. http://127.0.0.1:9000)",
                        redacted(endpoint)
                    )));
                }
                if endpoint.is_some_and(|e| e.starts_with("http://")) {
                    builder = builder.with_allow_http(true);
                }
                // Five retries (about 3 s of backoff) instead of ten over up to 3 minutes: a
                // wrong endpoint should fail while the user still waits for it.
                let retry = RetryConfig {
                    max_retries: 5,
                    retry_timeout: Duration::from_secs(60),
                    ..RetryConfig::default()
                };
                let store = builder
                    .with_retry(retry)
                    .build()
                    .map_err(|e| invalid(e.to_string()))?;
                let prefix = Path::parse(parsed.path().trim_matches('/'))
                    .map_err(|e| invalid(e.to_string()))?;
                let url = format!("s3://{bucket}/{prefix}")
                    .trim_end_matches('/')
                    .to_string();
                Ok(Location {
                    store: Arc::new(store),
                    prefix,
                    url,
                    local: None,
                })
            }
            other => Err(invalid(format!(
                "unsupported scheme `{other}`: use file:///abs/dir, a directory path, or s3://bucket/prefix"
            ))),
        }
    }

    /// The local directory `dir` (need not exist yet), reached through object_store.
    pub fn local_dir(dir: &std::path::Path) -> Result<Location> {
        let absolute = std::path::absolute(dir).map_err(|source| Error::Io {
            action: "resolving",
            path: dir.to_path_buf(),
            source,
        })?;
        let prefix = Path::from_absolute_path(&absolute).map_err(|e| Error::InvalidUrl {
            url: absolute.display().to_string(),
            message: e.to_string(),
        })?;
        let url = Url::from_directory_path(&absolute)
            .map(|u| u.to_string().trim_end_matches('/').to_string())
            .unwrap_or_else(|()| absolute.display().to_string());
        Ok(Location {
            store: Arc::new(LocalFileSystem::new()),
            prefix,
            url,
            local: Some(absolute),
        })
    }

    /// Whether the object at `rel` is reached through a symbolic link below the location
    /// (a local directory's listing follows them): it may be anywhere, so it is not the
    /// location's to delete. Always `false` for object stores, which have no links.
    pub fn through_symlink(&self, rel: &str) -> bool {
        let Some(root) = &self.local else {
            return false;
        };
        let mut path = root.clone();
        rel.split('/').any(|part| {
            path.push(part);
            std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink())
        })
    }

    /// The location's URL, as shown to people (no trailing `/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL of the object at `rel`.
    pub fn url_of(&self, rel: &str) -> String {
        format!("{}/{rel}", self.url)
    }

    fn path(&self, rel: &str) -> Result<Path> {
        let mut parts: Vec<PathPart<'_>> = self.prefix.parts().collect();
        for segment in rel.split('/') {
            let part = PathPart::parse(segment)
                .ok()
                .filter(|_| !segment.is_empty())
                .ok_or_else(|| Error::InvalidUrl {
                    url: self.url_of(rel),
                    message: format!("`{segment}` is not a valid path segment"),
                })?;
            parts.push(part);
        }
        Ok(Path::from_iter(parts))
    }

    fn store_error(
        &self,
        action: &'static str,
        rel: &str,
    ) -> impl Fn(object_store::Error) -> Error {
        let url = self.url_of(rel);
        move |source| match source {
            object_store::Error::NotFound { .. } => Error::NotFound { url: url.clone() },
            source => Error::Store {
                action,
                url: url.clone(),
                cause: Box::new(source),
            },
        }
    }

    /// Every object below the location, by relative path, with its size.
    pub fn list(&self) -> Result<BTreeMap<String, u64>> {
        Ok(self
            .list_with_times()?
            .into_iter()
            .map(|(rel, (size, _))| (rel, size))
            .collect())
    }

    /// Like [`Location::list`], with each object's last modification time.
    pub fn list_with_times(&self) -> Result<BTreeMap<String, (u64, std::time::SystemTime)>> {
        let error = self.store_error("listing", "");
        block_on(async {
            let mut stream = self.store.list(Some(&self.prefix));
            let mut objects = BTreeMap::new();
            let skip = self.prefix.parts().count();
            while let Some(meta) = stream.next().await {
                let meta = match meta {
                    Ok(meta) => meta,
                    Err(object_store::Error::NotFound { .. }) => break,
                    Err(e) => return Err(error(e)),
                };
                let rel: Vec<String> = meta
                    .location
                    .parts()
                    .skip(skip)
                    .map(|p| p.as_ref().to_string())
                    .collect();
                let modified = std::time::SystemTime::from(meta.last_modified);
                objects.insert(rel.join("/"), (meta.size, modified));
            }
            Ok(objects)
        })?
    }

    /// The whole object at `rel` (for small objects: definitions, manifests), or `None`.
    ///
    /// It is for manifests and definitions: an object larger than
    /// [`quiver_catalog::MAX_MANIFEST_BYTES`] is refused (`Error::TooLarge`) before it is read.
    pub fn read(&self, rel: &str) -> Result<Option<Bytes>> {
        let path = self.path(rel)?;
        let error = self.store_error("reading", rel);
        let limit = quiver_catalog::MAX_MANIFEST_BYTES;
        block_on(async {
            match self.store.get(&path).await {
                Ok(got) if got.meta.size > limit => Err(Error::TooLarge {
                    url: self.url_of(rel),
                    size: got.meta.size,
                    limit,
                }),
                Ok(got) => got.bytes().await.map(Some).map_err(&error),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(error(e)),
            }
        })?
    }

    /// Writes the object at `rel`, replacing any (readers see the old or the new one whole).
    pub fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<()> {
        let path = self.path(rel)?;
        let error = self.store_error("writing", rel);
        block_on(async {
            self.store
                .put(&path, PutPayload::from(bytes))
                .await
                .map(drop)
                .map_err(error)
        })?
    }

    /// Writes the object at `rel` unless one exists (a conditional put, atomic in the store):
    /// `true` if this call created it. Two writers can never both create one object.
    pub fn put_if_absent(&self, rel: &str, bytes: Vec<u8>) -> Result<bool> {
        let path = self.path(rel)?;
        let error = self.store_error("writing", rel);
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        block_on(async {
            match self
                .store
                .put_opts(&path, PutPayload::from(bytes), options)
                .await
            {
                Ok(_) => Ok(true),
                Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                Err(e) => Err(error(e)),
            }
        })?
    }

    /// Deletes the object at `rel` (no error if it is already gone).
    pub fn delete(&self, rel: &str) -> Result<()> {
        let path = self.path(rel)?;
        let error = self.store_error("deleting", rel);
        block_on(async {
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(error(e)),
            }
        })?
    }

    /// Size and crc32 of the object at `rel`, streamed: memory does not grow with its size.
    pub fn digest(&self, rel: &str) -> Result<Digest> {
        self.download(rel, &mut std::io::sink())
    }

    /// Streams the object at `rel` into `out`, returning its size and crc32.
    pub fn download(&self, rel: &str, out: &mut dyn Write) -> Result<Digest> {
        let path = self.path(rel)?;
        let error = self.store_error("reading", rel);
        let url = self.url_of(rel);
        block_on(async {
            let mut stream = self.store.get(&path).await.map_err(&error)?.into_stream();
            let mut hasher = Hasher::default();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(&error)?;
                hasher.update(&chunk);
                out.write_all(&chunk).map_err(|source| Error::Io {
                    action: "writing a copy of",
                    path: url.clone().into(),
                    source,
                })?;
            }
            Ok(hasher.finish())
        })?
    }

    /// Copies the object at `rel` to `target_rel` in `target`, streamed (one PUT when small,
    /// a multipart upload otherwise), returning the size and crc32 of what was read. The
    /// target object appears whole or not at all, and only where there was none: `None`
    /// when an object is there already (it is left as it is, whoever wrote it). A small
    /// object is put-if-absent, so two writers never both write it; a large one is checked
    /// for absence just before its upload (object stores have no conditional multipart
    /// upload), which leaves a race that the reader's check of every file closes.
    pub fn copy_to(
        &self,
        rel: &str,
        target: &Location,
        target_rel: &str,
    ) -> Result<Option<Digest>> {
        let path = self.path(rel)?;
        let target_path = target.path(target_rel)?;
        let read_error = self.store_error("reading", rel);
        let write_error = target.store_error("writing", target_rel);
        block_on(async {
            let got = self.store.get(&path).await.map_err(&read_error)?;
            let mut hasher = Hasher::default();
            let mut stream = got.into_stream();
            // Gather the first part: a small object goes up in one PUT.
            let mut first = Vec::new();
            while first.len() < PART_BYTES {
                match stream.next().await {
                    Some(chunk) => {
                        let chunk = chunk.map_err(&read_error)?;
                        hasher.update(&chunk);
                        first.extend_from_slice(&chunk);
                    }
                    None => {
                        let create = PutOptions {
                            mode: PutMode::Create,
                            ..PutOptions::default()
                        };
                        return match target
                            .store
                            .put_opts(&target_path, PutPayload::from(first), create)
                            .await
                        {
                            Ok(_) => Ok(Some(hasher.finish())),
                            Err(object_store::Error::AlreadyExists { .. }) => Ok(None),
                            Err(e) => Err(write_error(e)),
                        };
                    }
                }
            }
            match target.store.head(&target_path).await {
                Ok(_) => return Ok(None),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(write_error(e)),
            }
            let upload = target
                .store
                .put_multipart(&target_path)
                .await
                .map_err(&write_error)?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
            writer.write(&first);
            drop(first);
            let streamed: Result<()> = async {
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(&read_error)?;
                    hasher.update(&chunk);
                    writer
                        .wait_for_capacity(PARTS_IN_FLIGHT)
                        .await
                        .map_err(&write_error)?;
                    writer.put(chunk);
                }
                Ok(())
            }
            .await;
            match streamed {
                Ok(()) => {
                    writer.finish().await.map_err(&write_error)?;
                    Ok(Some(hasher.finish()))
                }
                Err(e) => {
                    let _ = writer.abort().await;
                    Err(e)
                }
            }
        })?
    }
}

/// Runs `future` to completion on quiver's I/O runtime (two worker threads, made once).
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output> {
    static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("quiver-io")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    match runtime {
        Ok(runtime) => Ok(runtime.block_on(future)),
        Err(message) => Err(Error::Runtime(message.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let root = Location::local_dir(&dir.path().join("x")).unwrap();
        assert!(root.list().unwrap().is_empty());
        assert_eq!(root.read("a/b.json").unwrap(), None);
        root.put("a/b.json", b"{}".to_vec()).unwrap();
        assert!(!root.put_if_absent("a/b.json", b"[]".to_vec()).unwrap());
        assert!(root.put_if_absent("a/c%2F.json", b"[]".to_vec()).unwrap());
        assert!(dir.path().join("x/a/c%2F.json").exists());
        let big: Vec<u8> = (0..PART_BYTES * 2 + 17).map(|i| (i * 7) as u8).collect();
        root.put("big", big.clone()).unwrap();
        let other = Location::parse(&format!("file://{}/y", dir.path().display())).unwrap();
        let copied = root.copy_to("big", &other, "d/big").unwrap().unwrap();
        assert_eq!(copied.bytes, big.len() as u64);
        assert_eq!(other.digest("d/big").unwrap(), copied);
        assert_eq!(crc32fast::hash(&big), copied.crc32);
        let listed = root.list().unwrap();
        assert_eq!(
            listed.keys().collect::<Vec<_>>(),
            ["a/b.json", "a/c%2F.json", "big"]
        );
        root.delete("big").unwrap();
        root.delete("big").unwrap();
        assert!(matches!(root.digest("big"), Err(Error::NotFound { .. })));
    }

    #[test]
    fn s3_round_trip() {
        let server = crate::test_server::S3TestServer::start();
        let bucket = server.bucket("location-round-trip");
        let root =
            Location::parse_with(&format!("{bucket}/some/prefix"), &server.options()).unwrap();
        assert_eq!(root.url(), "s3://location-round-trip/some/prefix");
        assert!(root.list().unwrap().is_empty());
        assert!(
            root.put_if_absent("a/manifest.json", b"one".to_vec())
                .unwrap()
        );
        assert!(
            !root
                .put_if_absent("a/manifest.json", b"two".to_vec())
                .unwrap()
        );
        assert_eq!(
            root.read("a/manifest.json").unwrap().unwrap().as_ref(),
            b"one"
        );
        assert_eq!(root.read("a/none").unwrap(), None);

        // A multipart upload there and a copy back.
        let dir = tempfile::tempdir().unwrap();
        let local = Location::local_dir(dir.path()).unwrap();
        let big: Vec<u8> = (0..PART_BYTES * 2 + 5).map(|i| (i % 251) as u8).collect();
        local.put("big", big.clone()).unwrap();
        let up = local
            .copy_to("big", &root, "b/data/t%2F.0.parquet")
            .unwrap();
        let down = root
            .copy_to("b/data/t%2F.0.parquet", &local, "back")
            .unwrap();
        assert_eq!(up, down);
        // Write-once: neither a large nor a small object is ever replaced.
        local.put("other", b"other bytes".to_vec()).unwrap();
        assert_eq!(
            local
                .copy_to("other", &root, "b/data/t%2F.0.parquet")
                .unwrap(),
            None
        );
        local.put("small", b"small".to_vec()).unwrap();
        assert!(local.copy_to("small", &root, "b/small").unwrap().is_some());
        assert_eq!(local.copy_to("other", &root, "b/small").unwrap(), None);
        assert_eq!(root.digest("b/small").unwrap().bytes, 5);
        assert_eq!(local.copy_to("big", &root, "b/small").unwrap(), None);
        assert_eq!(root.digest("b/small").unwrap().bytes, 5);
        assert_eq!(std::fs::read(dir.path().join("back")).unwrap(), big);
        let listed = root.list().unwrap();
        assert_eq!(
            listed.get("b/data/t%2F.0.parquet"),
            Some(&(big.len() as u64))
        );
        root.delete("b/data/t%2F.0.parquet").unwrap();
        assert!(matches!(
            root.digest("b/data/t%2F.0.parquet"),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn bad_urls_say_why() {
        for (url, says) in [
            ("ftp://x/y", "unsupported scheme"),
            ("s3:///prefix", "bucket"),
            ("file://host/x", "absolute path"),
        ] {
            let err = Location::parse(url).unwrap_err().to_string();
            assert!(err.contains(says), "{url}: {err}");
        }
        let err = Location::parse_with("s3://b/p", &[("nonsense".into(), "1".into())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown S3 option `nonsense`"), "{err}");
    }
}
