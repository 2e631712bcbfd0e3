#!/usr/bin/python3
"""A power-cut file system for tests: the method of LazyFS (which Jepsen uses), in Python on FUSE.

    python3 lazyfs.py --mode data|posix MOUNTPOINT

Why: a test that SIGKILLs the server cannot find a missing fsync, because the kernel still writes its
page cache out after the process is gone. This file system keeps everything in the daemon's memory in
two copies, what processes see ("live") and what would survive losing power ("durable"), and a cut
throws away whatever was not made durable:

- mode `data`: file CONTENTS reach the durable copy only through fsync/fdatasync of that file. Names
  (create, mkdir, rename, unlink, rmdir, link, symlink) are durable at once, as with ext4's ordered mode.
  A file created and never synced survives a cut, empty (or with its last synced contents).
- mode `posix`: in addition, a directory's entries reach the durable copy only through an fsync of that
  directory (FUSE `fsyncdir`; Node's `fs.fsync` on a directory opened read-only arrives as one). An
  fsync of a file keeps its contents, not its name: a file whose name was never made durable is gone
  after the cut even if its contents were synced.

Not modelled: attributes (mode, owner, times) are durable at once and a cut leaves them as they are;
a file's size is its contents' length, so it follows the contents.

Control is on the daemon's stdin and stdout, one line each way, so nothing shows in the file system's
namespace and the daemon cannot outlive the test that started it:

    cut    -> {"ok": true, "droppedBytes": N, "droppedNames": M}   (live := durable)
    stats  -> {"ok": true, "bytesWritten": ..., "fsyncs": ..., ...}
    pending -> {"ok": true, "names": {dir: {"added": [...], "removed": [...]}}, "files": {path: bytes}}
              (what a cut would drop now; for debugging)
    quit   -> {"ok": true}, then unmount and exit
    EOF on stdin (the test process died or closed it) -> unmount and exit, as does SIGTERM or SIGINT.

A cut must be asked for only while no process has a file open here (the test kills the writer and waits
for its exit first): open handles keep pointing to the inodes they had, which the cut may drop.

Design choices, and why:

- Threads: libfuse's multi-threaded loop (nothreads=False) plus ONE global lock taken by every
  operation and by the control thread. Python's GIL serializes the work anyway; the lock makes each
  operation, and the cut, atomic against every other.
- Kernel caches: mounted with attr_timeout=0, entry_timeout=0, negative_timeout=0, no kernel_cache and
  no auto_cache (so every open() drops the file's page cache: after a cut a reader sees the durable
  bytes, not stale pages) and no direct_io (LevelDB mmaps its .ldb tables with MAP_SHARED; direct_io
  breaks mmap on many kernels). libfuse 2 never asks for the writeback cache, so each write() reaches
  the daemon before the system call returns: a SIGKILLed writer has lost nothing the daemon did not see.
  Directories are never cached (no cache_readdir with libfuse 2). The self-test
  (test/integration/powercut-fs.test.ts) reads files back before each cut to fill the page cache and
  checks that the next open after the cut sees the durable state.
- Unlinked open files: libfuse's high-level API renames a file that is unlinked (or renamed over) while
  open to .fuse_hiddenNNN and unlinks that at the last close. Its `hard_remove` option would avoid the
  rename, but then fstat() of such a file fails with ENOENT (the kernel's GETATTR for stat carries no
  file handle, and libfuse finds no path). So hard_remove stays off, and this daemon takes a rename to a
  `.fuse_hidden` name as the unlink it stands for: the name leaves the directory's live (and, in `data`
  mode, durable) entries and goes to a side table that only path lookups see: never readdir, never a
  durable map, never the state after a cut. Handles point to inodes, so they also stay valid across
  rename (LevelDB renames and unlinks open files).
- One process for the mount's whole life, the cut done inside it while mounted: the state lives only
  in this process's memory, so unmounting and mounting again would lose it. The zero timeouts and the
  invalidation at open are enough for the kernel to show the state after a cut (no remount, no
  explicit invalidation needed), as the self-test checks.
- No `lock` operation: the kernel then does POSIX and flock locks locally, which LevelDB's LOCK needs.
- Everything is in memory, nothing persists: a test stores at most a few hundred MB, and a file costs
  about twice its size (live and durable copies). fsync copies only from the first unsynced change.
- libfuse 2: Debian's python3-fusepy loads libfuse.so.2 (package libfuse2, which it depends on); as
  root, libfuse mounts by itself, and fuse3's fusermount serves for unmounting otherwise.
"""

import argparse
import errno
import json
import os
import signal
import stat
import sys
import threading
import time

# Debian's python3-fusepy installs the module as `fusepy`; pip's fusepy calls it `fuse`. (Another
# package, fuse-python, also owns the name `fuse` with a different API: check for fusepy's classes.)
try:
    import fusepy as _fusepy
except ImportError:  # pragma: no cover - depends on the distribution
    import fuse as _fusepy
if not hasattr(_fusepy, 'FUSE') or not hasattr(_fusepy, 'Operations'):
    raise ImportError('the installed module is not fusepy (apt-get install python3-fusepy)')
FUSE = _fusepy.FUSE
FuseOSError = _fusepy.FuseOSError
Operations = _fusepy.Operations
fuse_get_context = _fusepy.fuse_get_context

# libfuse's name for a file unlinked while open (see "Unlinked open files" above).
HIDDEN_PREFIX = '.fuse_hidden'

# statfs: plenty of room, so a store's free-space check never refuses work on this file system.
BLOCK_SIZE = 4096
TOTAL_BYTES = 64 * 1024 ** 3
TOTAL_INODES = 1 << 24


def now_ns():
    return time.time_ns()


class Inode:
    """A file, directory or symbolic link. Python references are the links: a directory's maps, file
    handles and the root hold Inode objects, and an inode nothing refers to is simply collected."""

    __slots__ = ('kind', 'mode', 'uid', 'gid', 'atime', 'mtime', 'ctime', 'nlink',
                 'live', 'durable', 'dirty_from', 'target', 'subdirs', 'hidden')

    def __init__(self, kind, mode, uid, gid):
        self.kind = kind  # 'file' | 'dir' | 'symlink'
        self.mode = mode  # with the file type bits
        self.uid = uid
        self.gid = gid
        t = now_ns()
        self.atime = self.mtime = self.ctime = t
        self.nlink = 0  # files and symlinks: names in LIVE directories (a directory reports 2 + subdirs)
        if kind == 'dir':
            self.live = {}  # name -> Inode, what processes see
            self.durable = {}  # name -> Inode, what survives a cut
            self.subdirs = 0  # live subdirectories, for st_nlink
            self.hidden = {}  # libfuse's .fuse_hidden names of unlinked open files: lookups only
        else:
            self.live = bytearray()  # contents processes see
            self.durable = bytearray()  # contents that survive a cut
            self.subdirs = 0
            self.hidden = None
        # Files: the lowest offset written or truncated since the last fsync, None when clean.
        # Invariant: live[:dirty_from] == durable[:dirty_from] and dirty_from <= len(durable), so an
        # fsync copies only live[dirty_from:], which for an append-only log is just the new tail.
        self.dirty_from = None
        self.target = None  # symlinks: the target, fixed at creation


class Handle:
    __slots__ = ('inode',)

    def __init__(self, inode):
        self.inode = inode


class PowerCutFs(Operations):
    use_ns = True  # times in integer nanoseconds (and no DeprecationWarning from fusepy)
    # Operations with a file handle may arrive without a path: serve them from the handle.
    flag_nullpath_ok = 1

    def __init__(self, mode):
        self.posix = mode == 'posix'
        self.mutex = threading.Lock()
        uid, gid = os.getuid(), os.getgid()
        self.root = Inode('dir', stat.S_IFDIR | 0o755, uid, gid)
        self.handles = {}
        self.next_fh = 1
        self.live_bytes = 0  # approximate, for statfs
        self.counters = {
            'writes': 0, 'bytesWritten': 0, 'reads': 0, 'bytesRead': 0,
            'fsyncs': 0, 'fdatasyncs': 0, 'fsyncdirs': 0, 'bytesSynced': 0,
            'namespaceOps': 0, 'cuts': 0, 'droppedBytes': 0, 'droppedNames': 0,
            'droppedBytesTotal': 0, 'droppedNamesTotal': 0,
        }

    # fusepy calls the operations object for every request; one lock makes each request atomic.
    def __call__(self, op, *args):
        with self.mutex:
            return super().__call__(op, *args)

    # ----- helpers (called with the mutex held) -----

    def _caller(self):
        uid, gid, _pid = fuse_get_context()
        return uid, gid

    def _resolve(self, path):
        if path is None:
            raise FuseOSError(errno.ENOENT)
        node = self.root
        for part in path.split('/'):
            if not part:
                continue
            if node.kind != 'dir':
                raise FuseOSError(errno.ENOTDIR)
            child = node.live.get(part)
            if child is None and part.startswith(HIDDEN_PREFIX):
                child = node.hidden.get(part)
            if child is None:
                raise FuseOSError(errno.ENOENT)
            node = child
        return node

    def _parent(self, path):
        """(directory inode, last name) of a path whose parent must exist."""
        head, _, name = path.rstrip('/').rpartition('/')
        parent = self._resolve(head or '/')
        if parent.kind != 'dir':
            raise FuseOSError(errno.ENOTDIR)
        if len(name.encode('utf-8', 'surrogateescape')) > 255:
            raise FuseOSError(errno.ENAMETOOLONG)
        return parent, name

    def _node(self, path, fh):
        if fh is not None and fh in self.handles:
            return self.handles[fh].inode
        return self._resolve(path)

    def _set_entry(self, parent, name, node):
        """Adds or replaces a live entry; in `data` mode names are durable at once."""
        old = parent.live.get(name)
        if old is not None:
            self._drop_link(parent, old)
        parent.live[name] = node
        node.nlink += 1
        if node.kind == 'dir':
            parent.subdirs += 1
        if not self.posix:
            parent.durable[name] = node
        parent.mtime = parent.ctime = now_ns()
        self.counters['namespaceOps'] += 1

    def _del_entry(self, parent, name):
        node = parent.live.pop(name)
        self._drop_link(parent, node)
        if not self.posix:
            parent.durable.pop(name, None)
        parent.mtime = parent.ctime = now_ns()
        self.counters['namespaceOps'] += 1

    def _drop_link(self, parent, node):
        node.nlink -= 1
        node.ctime = now_ns()
        if node.kind == 'dir':
            parent.subdirs -= 1
        elif node.kind == 'file' and node.nlink == 0:
            self.live_bytes -= len(node.live)

    def _new_fh(self, node):
        fh = self.next_fh
        self.next_fh += 1
        self.handles[fh] = Handle(node)
        return fh

    @staticmethod
    def _mark_dirty(node, offset):
        if node.dirty_from is None or offset < node.dirty_from:
            node.dirty_from = offset

    # ----- attributes -----

    def getattr(self, path, fh=None):
        node = self._node(path, fh)
        if node.kind == 'file':
            size = len(node.live)
        elif node.kind == 'symlink':
            size = len(node.target.encode('utf-8', 'surrogateescape'))
        else:
            size = BLOCK_SIZE
        return {
            'st_mode': node.mode, 'st_nlink': 2 + node.subdirs if node.kind == 'dir' else node.nlink,
            'st_uid': node.uid, 'st_gid': node.gid, 'st_size': size,
            'st_blocks': (size + 511) // 512, 'st_blksize': BLOCK_SIZE,
            'st_atime': node.atime, 'st_mtime': node.mtime, 'st_ctime': node.ctime,
        }

    def access(self, path, amode):
        self._resolve(path)  # default_permissions: the kernel checks the mode bits itself
        return 0

    def chmod(self, path, mode):
        node = self._resolve(path)
        node.mode = stat.S_IFMT(node.mode) | (mode & 0o7777)
        node.ctime = now_ns()
        return 0

    def chown(self, path, uid, gid):
        node = self._resolve(path)
        if uid != -1:
            node.uid = uid
        if gid != -1:
            node.gid = gid
        node.ctime = now_ns()
        return 0

    def utimens(self, path, times=None):
        node = self._resolve(path)
        if times is None:
            t = now_ns()
            times = (t, t)
        node.atime, node.mtime = times
        node.ctime = now_ns()
        return 0

    def statfs(self, path):
        total = TOTAL_BYTES // BLOCK_SIZE
        used = min(total, (max(self.live_bytes, 0) + BLOCK_SIZE - 1) // BLOCK_SIZE)
        return {
            'f_bsize': BLOCK_SIZE, 'f_frsize': BLOCK_SIZE, 'f_blocks': total,
            'f_bfree': total - used, 'f_bavail': total - used,
            'f_files': TOTAL_INODES, 'f_ffree': TOTAL_INODES - 1, 'f_favail': TOTAL_INODES - 1,
            'f_namemax': 255,
        }

    # ----- files -----

    def create(self, path, mode, fi=None):
        parent, name = self._parent(path)
        existing = parent.live.get(name)
        if existing is not None:  # O_CREAT without O_EXCL on a file that exists (a race): open it
            if existing.kind == 'dir':
                raise FuseOSError(errno.EISDIR)
            return self._new_fh(existing)
        uid, gid = self._caller()
        node = Inode('file', stat.S_IFREG | (mode & 0o7777), uid, gid)
        self._set_entry(parent, name, node)
        return self._new_fh(node)

    def mknod(self, path, mode, dev):
        # A Unix socket's bind() arrives here (the appliance's admin.sock lives in its data directory).
        # The kernel keeps the socket itself; the file system only holds the name, an empty inode with
        # the socket type bits, durable like any other name.
        if not (stat.S_ISREG(mode) or stat.S_ISSOCK(mode) or stat.S_ISFIFO(mode)):
            raise FuseOSError(errno.EPERM)  # no devices here
        parent, name = self._parent(path)
        if name in parent.live:
            raise FuseOSError(errno.EEXIST)
        uid, gid = self._caller()
        self._set_entry(parent, name, Inode('file', stat.S_IFMT(mode) | (mode & 0o7777), uid, gid))
        return 0

    def open(self, path, flags):
        node = self._resolve(path)
        if node.kind == 'dir' and (flags & os.O_ACCMODE) != os.O_RDONLY:
            raise FuseOSError(errno.EISDIR)
        return self._new_fh(node)

    def read(self, path, size, offset, fh):
        node = self._node(path, fh)
        if node.kind != 'file':
            raise FuseOSError(errno.EISDIR)
        data = bytes(node.live[offset:offset + size])
        self.counters['reads'] += 1
        self.counters['bytesRead'] += len(data)
        return data

    def write(self, path, data, offset, fh):
        node = self._node(path, fh)
        if node.kind != 'file':
            raise FuseOSError(errno.EISDIR)
        live = node.live
        length = len(live)
        self._mark_dirty(node, min(offset, length))
        if offset == length:
            live += data  # append: the common case (logs)
        elif offset > length:
            live += bytes(offset - length)  # a hole reads as zeros
            live += data
        else:
            live[offset:offset + len(data)] = data
        self.live_bytes += len(live) - length
        node.mtime = node.ctime = now_ns()
        self.counters['writes'] += 1
        self.counters['bytesWritten'] += len(data)
        return len(data)

    def truncate(self, path, length, fh=None):
        node = self._node(path, fh)
        if node.kind != 'file':
            raise FuseOSError(errno.EISDIR)
        live = node.live
        old = len(live)
        if length == old:
            return 0
        self._mark_dirty(node, min(length, old))
        if length < old:
            del live[length:]
        else:
            live += bytes(length - old)
        self.live_bytes += length - old
        node.mtime = node.ctime = now_ns()
        return 0

    def flush(self, path, fh):
        return 0  # close() is no sync: nothing becomes durable here

    def release(self, path, fh):
        self.handles.pop(fh, None)
        return 0

    def fsync(self, path, datasync, fh):
        """Contents only, never the name (that takes an fsync of the directory in `posix` mode)."""
        node = self._node(path, fh)
        self.counters['fdatasyncs' if datasync else 'fsyncs'] += 1
        if node.kind == 'file' and node.dirty_from is not None:
            start = node.dirty_from
            # Replaces durable's tail from `start` with live's: also shortens it after a truncate.
            node.durable[start:] = node.live[start:]
            node.dirty_from = None
            self.counters['bytesSynced'] += len(node.live) - start
        return 0

    # ----- directories -----

    def opendir(self, path):
        node = self._resolve(path)
        if node.kind != 'dir':
            raise FuseOSError(errno.ENOTDIR)
        return self._new_fh(node)

    def readdir(self, path, fh):
        node = self._node(path, fh)
        if node.kind != 'dir':
            raise FuseOSError(errno.ENOTDIR)
        return ['.', '..'] + list(node.live.keys())

    def releasedir(self, path, fh):
        self.handles.pop(fh, None)
        return 0

    def fsyncdir(self, path, datasync, fh):
        """Makes this directory's entries durable as they are now (a no-op for names in `data` mode)."""
        node = self._node(path, fh)
        self.counters['fsyncdirs'] += 1
        if node.kind == 'dir':
            node.durable = dict(node.live)
        return 0

    def mkdir(self, path, mode):
        parent, name = self._parent(path)
        if name in parent.live:
            raise FuseOSError(errno.EEXIST)
        uid, gid = self._caller()
        self._set_entry(parent, name, Inode('dir', stat.S_IFDIR | (mode & 0o7777), uid, gid))
        return 0

    def rmdir(self, path):
        parent, name = self._parent(path)
        node = parent.live.get(name)
        if node is None:
            raise FuseOSError(errno.ENOENT)
        if node.kind != 'dir':
            raise FuseOSError(errno.ENOTDIR)
        if node.live:
            raise FuseOSError(errno.ENOTEMPTY)
        self._del_entry(parent, name)
        return 0

    def unlink(self, path):
        parent, name = self._parent(path)
        if name in parent.hidden:  # libfuse, at the last close of an unlinked file
            del parent.hidden[name]
            return 0
        node = parent.live.get(name)
        if node is None:
            raise FuseOSError(errno.ENOENT)
        if node.kind == 'dir':
            raise FuseOSError(errno.EISDIR)
        self._del_entry(parent, name)
        return 0

    def rename(self, old, new):
        old_parent, old_name = self._parent(old)
        new_parent, new_name = self._parent(new)
        node = old_parent.live.get(old_name)
        if node is None:
            raise FuseOSError(errno.ENOENT)
        if new_name.startswith(HIDDEN_PREFIX) and node.kind == 'file':
            # libfuse hiding a file unlinked (or renamed over) while open: an unlink, name kept aside.
            self._del_entry(old_parent, old_name)
            new_parent.hidden[new_name] = node
            return 0
        target = new_parent.live.get(new_name)
        if target is node:
            return 0  # two names of one inode: POSIX says do nothing
        if node.kind == 'dir':
            # A directory cannot move under itself.
            probe = self.root
            for part in new.split('/')[:-1]:
                if not part:
                    continue
                probe = probe.live[part]
                if probe is node:
                    raise FuseOSError(errno.EINVAL)
        if target is not None:
            if target.kind == 'dir':
                if node.kind != 'dir':
                    raise FuseOSError(errno.EISDIR)
                if target.live:
                    raise FuseOSError(errno.ENOTEMPTY)
            elif node.kind == 'dir':
                raise FuseOSError(errno.ENOTDIR)
        # Remove first, then add: _set_entry replaces the target (dropping its link).
        self._del_entry(old_parent, old_name)
        self._set_entry(new_parent, new_name, node)
        self.counters['namespaceOps'] -= 1  # one rename, not two operations
        node.ctime = now_ns()
        return 0

    def link(self, target, source):
        """ln source target."""
        node = self._resolve(source)
        if node.kind == 'dir':
            raise FuseOSError(errno.EPERM)
        parent, name = self._parent(target)
        if name in parent.live:
            raise FuseOSError(errno.EEXIST)
        self._set_entry(parent, name, node)
        return 0

    def symlink(self, target, source):
        """ln -s source target."""
        parent, name = self._parent(target)
        if name in parent.live:
            raise FuseOSError(errno.EEXIST)
        uid, gid = self._caller()
        node = Inode('symlink', stat.S_IFLNK | 0o777, uid, gid)
        node.target = source
        self._set_entry(parent, name, node)
        return 0

    def readlink(self, path):
        node = self._resolve(path)
        if node.kind != 'symlink':
            raise FuseOSError(errno.EINVAL)
        return node.target

    # ----- the cut (called from the control thread, which takes the same mutex) -----

    def cut(self):
        """live := durable for everything reachable from the root through durable entries; the rest
        is gone. Returns (bytes dropped or reverted, directory entries dropped or reverted)."""
        with self.mutex:
            dropped_bytes = 0
            dropped_names = 0
            # Everything that existed before the cut, to count what is lost with unreachable inodes.
            before = {}
            stack = [self.root]
            while stack:
                d = stack.pop()
                if id(d) in before:
                    continue
                before[id(d)] = d
                for child in list(d.live.values()) + list(d.durable.values()):
                    if child.kind == 'dir':
                        stack.append(child)
                    else:
                        before.setdefault(id(child), child)
            # Walk the durable tree. A directory reached a second time (possible in `posix` mode when
            # renames of directories were made durable in one parent and not in the other) keeps its
            # first name only, so the tree stays a tree.
            reached = {id(self.root): self.root}
            for node in before.values():
                node.nlink = 0
                node.subdirs = 0
            queue = [self.root]
            while queue:
                d = queue.pop()
                kept = {}
                for name, child in d.durable.items():
                    if child.kind == 'dir':
                        if id(child) in reached:
                            continue  # counted as dropped below: not in `kept`
                        queue.append(child)
                        d.subdirs += 1
                    reached[id(child)] = child
                    child.nlink += 1
                    kept[name] = child
                # Entries that change: added since the last sync, removed, or naming another inode.
                for name, child in d.live.items():
                    if kept.get(name) is not child:
                        dropped_names += 1
                for name in kept:
                    if name not in d.live:
                        dropped_names += 1
                d.durable = kept
                d.live = dict(kept)
                d.hidden = {}
            live_bytes = 0
            for key, node in before.items():
                if node.kind != 'file':
                    if key not in reached and node.kind == 'dir':
                        dropped_names += len(node.live)
                    continue
                if key not in reached:
                    dropped_bytes += len(node.live)
                    continue
                if node.dirty_from is not None:
                    dropped_bytes += max(len(node.live), len(node.durable)) - node.dirty_from
                    node.live = bytearray(node.durable)
                    node.dirty_from = None
                live_bytes += len(node.live)
            self.live_bytes = live_bytes
            self.counters['cuts'] += 1
            self.counters['droppedBytes'] = dropped_bytes
            self.counters['droppedNames'] = dropped_names
            self.counters['droppedBytesTotal'] += dropped_bytes
            self.counters['droppedNamesTotal'] += dropped_names
            return dropped_bytes, dropped_names

    def pending(self):
        """What a cut would drop now, for debugging: per directory path the names added and removed
        since its last sync, per file path the bytes from its first unsynced change."""
        with self.mutex:
            names, files = {}, {}
            stack = [('', self.root)]
            seen = set()
            while stack:
                path, d = stack.pop()
                if id(d) in seen:
                    continue
                seen.add(id(d))
                added = sorted(n for n, c in d.live.items() if d.durable.get(n) is not c)
                removed = sorted(n for n, c in d.durable.items() if d.live.get(n) is not c)
                if added or removed:
                    names[path or '/'] = {'added': added, 'removed': removed}
                for n, c in d.live.items():
                    if c.kind == 'dir':
                        stack.append((path + '/' + n, c))
                    elif c.kind == 'file' and c.dirty_from is not None:
                        files[path + '/' + n] = max(len(c.live), len(c.durable)) - c.dirty_from
            return {'names': names, 'files': files}

    def stats(self):
        with self.mutex:
            out = dict(self.counters)
            out['openHandles'] = len(self.handles)
            out['liveBytes'] = self.live_bytes
            return out


def control_loop(fs):
    """Reads commands from stdin; EOF (the test process is gone) unmounts and exits like SIGTERM."""
    # Signals must reach the main thread, which sits in libfuse's loop (in sem_wait, interruptible):
    # libfuse's worker threads block them all, and this thread blocks them too.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + '\n')
        sys.stdout.flush()

    try:
        for line in sys.stdin:
            command = line.strip()
            if not command:
                continue
            try:
                if command == 'cut':
                    dropped_bytes, dropped_names = fs.cut()
                    result = {'ok': True, 'droppedBytes': dropped_bytes, 'droppedNames': dropped_names}
                elif command == 'stats':
                    result = dict(fs.stats(), ok=True)
                elif command == 'pending':
                    result = dict(fs.pending(), ok=True)
                elif command == 'quit':
                    reply({'ok': True})
                    break
                else:
                    result = {'ok': False, 'error': 'unknown command: ' + command}
            except Exception as e:  # keep serving: a broken command must not take the mount down
                result = {'ok': False, 'error': repr(e)}
            reply(result)  # BrokenPipeError (the test process is gone) ends the loop: see finally
    finally:
        # libfuse's SIGTERM handler ends its loop; fuse_main then unmounts (lazily, as root) and returns.
        os.kill(os.getpid(), signal.SIGTERM)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--mode', choices=('data', 'posix'), required=True)
    parser.add_argument('mountpoint')
    args = parser.parse_args()
    mountpoint = os.path.abspath(args.mountpoint)
    fs = PowerCutFs(args.mode)
    threading.Thread(target=control_loop, args=(fs,), name='control', daemon=True).start()
    FUSE(
        fs, mountpoint,
        foreground=True, nothreads=False,
        fsname='letterbox-powercut', subtype='powercut',
        attr_timeout=0, entry_timeout=0, negative_timeout=0,
        big_writes=True,  # up to 128 KiB per write request instead of 4 KiB
        default_permissions=True,  # the kernel checks mode bits, as on a disk file system
    )


if __name__ == '__main__':
    main()
