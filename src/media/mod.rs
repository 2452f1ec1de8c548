//! The media folder (`--media-dir`): the files products deliver through "Your
//! library". A product names its file relative to the folder; only a plain
//! relative name that stays inside the folder (after symbolic links) is served.

use std::path::{Component, Path, PathBuf};

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
