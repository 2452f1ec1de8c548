//! The media folder (`--media-dir`): the files products deliver through "Your
//! library". A product names its file relative to the folder; only a plain
//! relative name that stays inside the folder (after symbolic links) is served.
//!
//! Files are put in place whole: written to a temporary file in the folder they
//! go to, then renamed, so a server sharing the folder never serves half a file.

pub mod demo;

use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use tempfile::NamedTempFile;

/// The longest file name [`safe_file_name`] keeps, in bytes (before the
/// extension is counted): well inside every file system's limit.
const MAX_NAME_BYTES: usize = 80;

/// The folder product files live in; with many servers, one shared folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDir {
    root: PathBuf,
}

impl MediaDir {
    pub fn new(root: impl Into<PathBuf>) -> MediaDir {
        MediaDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The regular file `name` names inside the folder; `None` for a name that
    /// is absolute, climbs out (`..`), or leads outside through a link, and for
    /// a file that is missing.
    pub fn resolve(&self, name: &str) -> Option<PathBuf> {
        if !is_plain_relative(name) {
            return None;
        }
        let root = self.root.canonicalize().ok()?;
        let path = root.join(name).canonicalize().ok()?;
        (path.starts_with(&root) && path.is_file()).then_some(path)
    }

    /// Where `name` goes inside the folder; an error for a name that is not
    /// plainly relative (it would land elsewhere).
    fn destination(&self, name: &str) -> io::Result<PathBuf> {
        if !is_plain_relative(name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?} is not a plain relative name inside the media folder"),
            ));
        }
        Ok(self.root.join(name))
    }

    /// An empty temporary file in the folder `name` goes to (made when
    /// missing), to fill and then [`MediaDir::install`] as `name`.
    pub fn temporary_for(&self, name: &str) -> io::Result<NamedTempFile> {
        let destination = self.destination(name)?;
        let folder = destination.parent().unwrap_or(&self.root);
        let mut builder = tempfile::Builder::new();
        builder.prefix(".upload-");
        // Readable by whoever serves the folder, as a file copied there would be
        // (a temporary file is otherwise the owner's alone).
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        std::fs::create_dir_all(folder)?;
        match builder.tempfile_in(folder) {
            // An empty folder a refused upload was tidying away a moment ago.
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(folder)?;
                builder.tempfile_in(folder)
            }
            made => made,
        }
    }

    /// Puts the filled temporary file in place as `name` in one rename,
    /// replacing what was there (a download under way keeps reading the old
    /// file to its end).
    pub fn install(&self, filled: NamedTempFile, name: &str) -> io::Result<()> {
        let destination = self.destination(name)?;
        filled.as_file().sync_all()?;
        filled.persist(&destination).map_err(|error| error.error)?;
        Ok(())
    }

    /// Copies what `from` reads into the folder as `name`, whole or not at all.
    pub fn put(&self, name: &str, from: &mut impl Read) -> io::Result<u64> {
        let mut temporary = self.temporary_for(name)?;
        let copied = io::copy(from, temporary.as_file_mut())?;
        self.install(temporary, name)?;
        Ok(copied)
    }

    /// Writes `bytes` as `name` unless a file of that name is there already
    /// (which is left alone, even when another server put it there a moment
    /// ago); whether it wrote.
    pub fn put_new(&self, name: &str, bytes: &[u8]) -> io::Result<bool> {
        let destination = self.destination(name)?;
        if destination.symlink_metadata().is_ok() {
            return Ok(false);
        }
        let mut temporary = self.temporary_for(name)?;
        io::Write::write_all(temporary.as_file_mut(), bytes)?;
        temporary.as_file().sync_all()?;
        match temporary.persist_noclobber(&destination) {
            Ok(_) => Ok(true),
            Err(error) if error.error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(error) => Err(error.error),
        }
    }
}

/// The name a file is stored under, from whatever name it came with (a path
/// typed by an operator, a browser's file name): its last part only, ASCII
/// letters, digits, `.`, `_` and `-` kept and every other run of characters
/// made one `-`, no leading dot, at most [`MAX_NAME_BYTES`] bytes before its
/// extension; `file` when nothing is left. Never `..`, a `/`, a `\` or a
/// control character.
pub fn safe_file_name(original: &str) -> String {
    let last = original
        .rsplit(['/', '\\'])
        .find(|part| !part.trim().is_empty())
        .unwrap_or("");
    let (stem, extension) = match last.rsplit_once('.') {
        Some((stem, extension)) if !stem.trim_matches('.').is_empty() => (stem, Some(extension)),
        _ => (last, None),
    };
    let stem = clean(stem, MAX_NAME_BYTES);
    let stem = if stem.is_empty() { "file".to_owned() } else { stem };
    match extension.map(|extension| clean(extension, 12).replace('.', "")) {
        Some(extension) if !extension.is_empty() => format!("{stem}.{}", extension.to_ascii_lowercase()),
        _ => stem,
    }
}

/// `text` with ASCII letters, digits, `_` and `-` kept, inner dots kept, every
/// other run made one `-`, trimmed of dots and dashes at both ends, cut to
/// `limit` bytes.
fn clean(text: &str, limit: usize) -> String {
    let mut cleaned = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            cleaned.push(c);
        } else if !cleaned.ends_with('-') {
            cleaned.push('-');
        }
    }
    while cleaned.contains("..") {
        cleaned = cleaned.replace("..", ".");
    }
    cleaned.truncate(limit);
    cleaned.trim_matches(['.', '-']).to_owned()
}

/// `a/b.wav`: forward slashes between normal parts, nothing else.
fn is_plain_relative(name: &str) -> bool {
    !name.is_empty()
        && !name.contains(['\\', '\0'])
        && Path::new(name)
            .components()
            .all(|part| matches!(part, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_name_keeps_only_the_last_part_in_plain_characters() {
        for (original, stored) in [
            ("song.wav", "song.wav"),
            ("/home/op/Final Mix (v2).WAV", "Final-Mix-v2.wav"),
            ("../../etc/passwd", "passwd"),
            ("..", "file"),
            ("...", "file"),
            ("", "file"),
            ("/", "file"),
            ("C:\\Users\\op\\book.epub", "book.epub"),
            ("a\\..\\..\\b.zip", "b.zip"),
            (".hidden", "hidden"),
            ("..hidden.txt", "hidden.txt"),
            ("name.", "name"),
            ("bad\nline\u{202e}gpj.exe", "bad-line-gpj.exe"),
            ("Éclair.epub", "clair.epub"),
            ("archive.tar.gz", "archive.tar.gz"),
            ("x.ev\u{0}il", "x.ev-il"),
        ] {
            assert_eq!(safe_file_name(original), stored, "{original:?}");
        }
        let long = safe_file_name(&format!("{}.wav", "a".repeat(300)));
        assert_eq!(long, format!("{}.wav", "a".repeat(MAX_NAME_BYTES)));
    }

    #[test]
    fn a_stored_name_is_always_plain_whatever_it_came_from() {
        for original in [
            "..",
            "../..",
            "a/../..",
            "\\..\\",
            "....//....",
            ". .",
            "-",
            "\u{7f}",
            "\t.\t",
        ] {
            let stored = safe_file_name(original);
            assert!(is_plain_relative(&stored), "{original:?} gave {stored:?}");
            assert!(
                !stored.contains(['/', '\\']) && !stored.contains(".."),
                "{stored:?}"
            );
            assert!(
                !stored.chars().any(char::is_control) && !stored.starts_with('.'),
                "{stored:?}"
            );
        }
    }

    #[test]
    fn a_new_file_is_written_once_and_an_existing_one_left_alone() {
        let folder = tempfile::tempdir().unwrap();
        let media = MediaDir::new(folder.path().join("media"));

        assert!(media.put_new("demo/1-a.wav", b"first").unwrap());
        assert!(!media.put_new("demo/1-a.wav", b"second").unwrap());

        let path = media.resolve("demo/1-a.wav").unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"first");
        assert_eq!(
            std::fs::read_dir(folder.path().join("media/demo"))
                .unwrap()
                .count(),
            1,
            "no temporary file is left behind"
        );
        assert!(media.put_new("../outside.wav", b"no").is_err());
        assert!(!folder.path().join("outside.wav").exists());
    }

    #[test]
    fn a_put_file_replaces_the_old_one_whole() {
        let folder = tempfile::tempdir().unwrap();
        let media = MediaDir::new(folder.path());

        media.put("products/7/a.epub", &mut &b"old"[..]).unwrap();
        assert_eq!(media.put("products/7/a.epub", &mut &b"newer"[..]).unwrap(), 5);

        assert_eq!(
            std::fs::read(media.resolve("products/7/a.epub").unwrap()).unwrap(),
            b"newer"
        );
        assert_eq!(
            std::fs::read_dir(folder.path().join("products/7"))
                .unwrap()
                .count(),
            1
        );
        assert!(media.put("/etc/x", &mut &b"no"[..]).is_err());
    }

    #[test]
    fn only_files_inside_the_folder_resolve() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), b"no").unwrap();
        let folder = tempfile::tempdir().unwrap();
        std::fs::create_dir(folder.path().join("demo")).unwrap();
        std::fs::write(folder.path().join("demo/track.wav"), b"RIFF").unwrap();
        let media = MediaDir::new(folder.path());

        assert!(media.resolve("demo/track.wav").is_some());
        for name in [
            "",
            "demo",
            "missing.wav",
            "../secret.txt",
            "demo/../../secret.txt",
            "/etc/passwd",
            "demo\\track.wav",
            "./demo/track.wav",
        ] {
            assert_eq!(media.resolve(name), None, "{name:?}");
        }
        let escape = outside.path().join("secret.txt");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&escape, folder.path().join("link.txt")).unwrap();
        #[cfg(unix)]
        assert_eq!(media.resolve("link.txt"), None, "a link out of the folder");
    }
}
