//! Where the bench keeps its files (the append scenarios' databases, each pipeline run's
//! data dir), and whether a commit there reaches a disk: on tmpfs or ramfs "durable"
//! means nothing, and an fsync costs nothing, so the bench refuses to run there unless
//! told to (`--allow-tmpfs`), and then says so loudly.
//!
//! The file system is read from `/proc/self/mountinfo` (the mount that holds the
//! directory, the longest mount point above it). Elsewhere than Linux it is unknown, and
//! the bench says that instead.

use std::path::{Path, PathBuf};

/// File systems that keep their files in memory only.
const IN_MEMORY: [&str; 2] = ["tmpfs", "ramfs"];

/// The bench's scratch directory, removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: tempfile::TempDir,
    /// The file system type (`ext4`, `tmpfs`, …), if it could be told.
    pub fs_type: Option<String>,
}

impl Scratch {
    /// A fresh directory under `parent` (the system's temporary directory if `None`),
    /// refused if it is on a file system in memory, unless `allow_memory`.
    pub fn create(parent: Option<&Path>, allow_memory: bool) -> anyhow::Result<Self> {
        Self::create_judged(parent, allow_memory, filesystem_of)
    }

    /// [`Scratch::create`], telling the file system of a directory with `filesystem`.
    fn create_judged(
        parent: Option<&Path>,
        allow_memory: bool,
        filesystem: fn(&Path) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let dir = match parent {
            Some(parent) => tempfile::Builder::new()
                .prefix("orderflow-bench-")
                .tempdir_in(parent)?,
            None => tempfile::Builder::new()
                .prefix("orderflow-bench-")
                .tempdir()?,
        };
        let fs_type = filesystem(dir.path());
        let scratch = Self { dir, fs_type };
        check_durable(scratch.path(), scratch.fs_type.as_deref(), allow_memory)?;
        Ok(scratch)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// One line saying where the files are and on what.
    pub fn describe(&self) -> String {
        let on = self
            .fs_type
            .as_deref()
            .unwrap_or("a file system of unknown type");
        let warning = if self.in_memory() {
            "  *** IN MEMORY: no commit below reaches a disk; no figure below is of durable writes ***"
        } else {
            ""
        };
        format!(
            "files in {} (on {on}; removed afterwards){warning}",
            self.path().display()
        )
    }

    pub fn in_memory(&self) -> bool {
        self.fs_type.as_deref().is_some_and(is_in_memory)
    }
}

pub fn is_in_memory(fs_type: &str) -> bool {
    IN_MEMORY.contains(&fs_type)
}

/// Refuses `dir` on a file system in memory unless `allow_memory`.
pub fn check_durable(dir: &Path, fs_type: Option<&str>, allow_memory: bool) -> anyhow::Result<()> {
    match fs_type {
        Some(fs) if is_in_memory(fs) && !allow_memory => anyhow::bail!(
            "the bench's files would be in {}, on {fs}, which keeps them in memory: a commit \
             there never reaches a disk, so its figures of durable writes would mean nothing. \
             Point --dir at a directory on a disk, or pass --allow-tmpfs to measure anyway",
            dir.display()
        ),
        _ => Ok(()),
    }
}

/// The type of the file system holding `path`, from `/proc/self/mountinfo`.
pub fn filesystem_of(path: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    fs_type_in(&mountinfo, &path)
}

/// In `mountinfo`'s lines (`ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL…] - TYPE
/// SOURCE SUPER_OPTIONS`), the type of the mount holding `path`: the longest mount point
/// that contains it, the later line where one point is mounted over another.
fn fs_type_in(mountinfo: &str, path: &Path) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for line in mountinfo.lines() {
        let Some((mount, rest)) = line.split_once(" - ") else {
            continue;
        };
        let (Some(point), Some(fs_type)) = (mount.split(' ').nth(4), rest.split(' ').next()) else {
            continue;
        };
        let point = PathBuf::from(unescape(point));
        if path.starts_with(&point) {
            let depth = point.components().count();
            if best.is_none_or(|(deepest, _)| depth >= deepest) {
                best = Some((depth, fs_type));
            }
        }
    }
    best.map(|(_, fs_type)| fs_type.to_owned())
}

/// mountinfo writes a space, tab, newline and backslash in a path as octal escapes.
fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /dev rw,nosuid - devtmpfs udev rw
24 23 0:22 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw
25 22 0:23 / /tmp rw shared:4 master:1 - tmpfs tmpfs rw,size=1g
26 25 8:2 / /tmp/on\\040disk rw - xfs /dev/sdb1 rw
27 22 0:24 / /mnt/ram rw - ramfs none rw
28 22 8:3 / /tmp rw - ext4 /dev/sdc1 rw
";

    fn fs(path: &str) -> Option<String> {
        fs_type_in(MOUNTINFO, Path::new(path))
    }

    #[test]
    fn a_directory_is_on_the_deepest_mount_that_holds_it() {
        assert_eq!(fs("/home/me/bench").as_deref(), Some("ext4"));
        assert_eq!(fs("/dev/shm/bench").as_deref(), Some("tmpfs"));
        assert_eq!(fs("/mnt/ram/x").as_deref(), Some("ramfs"));
        assert_eq!(fs("/dev/shmx").as_deref(), Some("devtmpfs"));
    }

    #[test]
    fn an_escaped_mount_point_and_a_later_mount_over_another_are_read_as_mounted() {
        assert_eq!(fs("/tmp/on disk/bench").as_deref(), Some("xfs"));
        // /tmp was tmpfs, then an ext4 file system was mounted over it.
        assert_eq!(fs("/tmp/bench").as_deref(), Some("ext4"));
    }

    #[test]
    fn tmpfs_and_ramfs_are_refused_unless_allowed() {
        let dir = Path::new("/dev/shm/bench");
        for fs in IN_MEMORY {
            let refused = check_durable(dir, Some(fs), false)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                refused.contains(fs) && refused.contains("--allow-tmpfs"),
                "{refused}"
            );
            assert!(check_durable(dir, Some(fs), true).is_ok());
        }
        assert!(check_durable(dir, Some("ext4"), false).is_ok());
        assert!(check_durable(dir, None, false).is_ok());
    }

    #[test]
    fn the_scratch_directory_is_made_under_the_given_one_and_removed_when_dropped()
    -> anyhow::Result<()> {
        let parent = tempfile::tempdir()?;
        let scratch = Scratch::create_judged(Some(parent.path()), false, |_| Some("ext4".into()))?;
        let path = scratch.path().to_owned();
        assert!(path.starts_with(parent.path()) && path.is_dir(), "{path:?}");
        let said = scratch.describe();
        assert!(
            said.contains(&path.display().to_string()) && said.contains("on ext4"),
            "{said}"
        );
        assert!(!said.contains("IN MEMORY"), "{said}");
        drop(scratch);
        assert!(!path.exists());
        Ok(())
    }

    #[test]
    fn a_scratch_directory_in_memory_is_refused_and_removed_unless_allowed_then_shouted()
    -> anyhow::Result<()> {
        let parent = tempfile::tempdir()?;
        let in_memory = |_: &Path| Some("tmpfs".to_owned());
        let refused = Scratch::create_judged(Some(parent.path()), false, in_memory)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("--allow-tmpfs"), "{refused:?}");
        assert_eq!(std::fs::read_dir(parent.path())?.count(), 0, "not removed");
        let allowed = Scratch::create_judged(Some(parent.path()), true, in_memory)?;
        assert!(
            allowed.describe().contains("*** IN MEMORY"),
            "{}",
            allowed.describe()
        );
        Ok(())
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_finds_proc_on_procfs() {
        assert_eq!(
            filesystem_of(Path::new("/proc/self")).as_deref(),
            Some("proc")
        );
    }
}
