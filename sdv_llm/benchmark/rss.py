"""Peak resident memory (RSS) of this process, read from the kernel.

Standard library only: the peers' worker (``peer_worker.py``) loads this file by path inside the
peers' environment, which need not have sdv_llm installed.

On Linux the peak is ``VmHWM`` of ``/proc/self/status``: the high-water mark of this process's
own address space. ``getrusage(RUSAGE_SELF).ru_maxrss`` is not used there, because Linux keeps
it across ``execve``: a worker started by ``subprocess`` reports the RSS its parent had when
it was spawned (a 13 MiB worker of a 1 GiB parent reads 1 GiB). Elsewhere ``ru_maxrss`` is the
only counter there is.
"""

import resource
import sys
from pathlib import Path

_CLEAR_REFS = Path('/proc/self/clear_refs')
_STATUS = Path('/proc/self/status')


def reset_peak():
    """Reset the kernel's peak-RSS counter to the current RSS (Linux >= 4.0).

    Returns:
        bool: True when reset; False where the counter cannot be reset (then :func:`peak_mb`
        is the process's lifetime peak).
    """
    try:
        _CLEAR_REFS.write_text('5')
        return True
    except OSError:
        return False


def peak_mb():
    """Peak resident memory of this process, MiB (float).

    Since the last :func:`reset_peak` where that succeeded, else over the process's lifetime.
    """
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == 'darwin' else peak / 1024
