//! The one tokio runtime every call runs on, rebuilt after `fork`, and the two ways Python
//! code waits for a core future: blocking with the GIL released (sync classes) and as an
//! asyncio awaitable (async classes).

use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3_async_runtimes::TaskLocals;
use pyo3_async_runtimes::generic::{ContextExt, Runtime as GenericRuntime};
use tokio::runtime::{Builder, Runtime};

/// How often a blocking call looks for a pending signal (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// A runtime and the process it was built in.
struct Slot {
    pid: u32,
    runtime: Runtime,
}

/// The current slot; slots are leaked, never freed: after a `fork` the parent's runtime
/// has no threads in the child, and dropping it there would wait for them forever.
static SLOT: AtomicPtr<Slot> = AtomicPtr::new(ptr::null_mut());

/// The process-wide multi-thread runtime, built on first use and again in a forked child.
/// Lock-free, so a `fork` at any moment cannot leave it locked in the child.
pub fn runtime() -> PyResult<&'static Runtime> {
    let pid = std::process::id();
    loop {
        let current = SLOT.load(Ordering::Acquire);
        // SAFETY: slots are never freed once published.
        if let Some(slot) = unsafe { current.as_ref() }
            && slot.pid == pid
        {
            return Ok(&slot.runtime);
        }
        let mut builder = Builder::new_multi_thread();
        if let Some(threads) = std::env::var("DEVICEAUTH_WORKER_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
        {
            builder.worker_threads(threads);
        }
        let runtime = builder
            .enable_all()
            .thread_name("deviceauth")
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("deviceauth: cannot start the async runtime: {e}")))?;
        let fresh = Box::into_raw(Box::new(Slot { pid, runtime }));
        match SLOT.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: just published; it lives for the rest of the process.
            Ok(_) => return Ok(unsafe { &(*fresh).runtime }),
            Err(_) => {
                // Another thread installed one first: stop ours without waiting and retry.
                // SAFETY: `fresh` was never published.
                let slot = unsafe { Box::from_raw(fresh) };
                slot.runtime.shutdown_background();
            }
        }
    }
}

/// Runs `fut` to completion on the runtime with the GIL released, checking for signals
/// every 100 ms: a raised `KeyboardInterrupt` (or any exception a signal handler raises)
/// ends the call and drops `fut`, which stops whatever it was doing.
pub fn block_on<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send,
    T: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(PyRuntimeError::new_err(
            "deviceauth: a blocking call cannot run on the library's own runtime threads; use the Async classes there",
        ));
    }
    let runtime = runtime()?;
    py.detach(|| runtime.block_on(interruptible(fut)))
}

/// `fut`, or the first exception a signal handler raises, whichever comes first.
/// Runs on the calling thread (inside `block_on`), so that in the main thread Python's
/// signal handlers run.
pub async fn interruptible<F, T>(fut: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>>,
{
    tokio::select! {
        biased;
        out = fut => out,
        err = signalled() => Err(err),
    }
}

async fn signalled() -> PyErr {
    loop {
        tokio::time::sleep(SIGNAL_CHECK).await;
        if let Some(Err(err)) = Python::try_attach(|py| py.check_signals()) {
            return err;
        }
    }
}

/// `fut` as an asyncio awaitable on the running event loop. Cancelling the asyncio task
/// drops `fut`.
pub fn future_into_py<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    // Build (or rebuild after fork) the runtime here, where a failure can be raised.
    runtime()?;
    pyo3_async_runtimes::generic::future_into_py::<ForkSafeTokio, F, T>(py, fut)
}

/// pyo3-async-runtimes' view of [`runtime`]: the same runtime the blocking calls use, so
/// sync and async objects share connection pools, and rebuilt after `fork` (the crate's own
/// tokio runtime is set once per process).
pub struct ForkSafeTokio;

tokio::task_local! {
    static TASK_LOCALS: OnceCell<TaskLocals>;
}

impl GenericRuntime for ForkSafeTokio {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = tokio::task::JoinHandle<()>;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        current().spawn(fut)
    }

    /// pyo3-async-runtimes hands over each finished future here, to set its result on the
    /// event loop under the GIL. Instead of one blocking-pool thread per result, each
    /// waiting for the GIL on its own, one completion thread takes the GIL once for every
    /// batch of finished futures.
    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        completions::submit(Box::new(f));
        // The crate drops this handle; a finished no-op task is the cheapest one to give.
        current().spawn(async {})
    }
}

/// The completion thread behind [`ForkSafeTokio::spawn_blocking`], one per process
/// (started again in a forked child, where the parent's thread does not exist).
mod completions {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicPtr, Ordering};
    use std::sync::mpsc::{Receiver, Sender, channel};

    use pyo3::Python;

    pub type Job = Box<dyn FnOnce() + Send>;

    struct Queue {
        pid: u32,
        sender: Mutex<Sender<Job>>,
    }

    static QUEUE: AtomicPtr<Queue> = AtomicPtr::new(std::ptr::null_mut());

    pub fn submit(job: Job) {
        let pid = std::process::id();
        loop {
            let current = QUEUE.load(Ordering::Acquire);
            // SAFETY: queues are leaked, never freed, once published.
            if let Some(queue) = unsafe { current.as_ref() }
                && queue.pid == pid
            {
                let sender = queue.sender.lock().unwrap_or_else(|p| p.into_inner());
                match sender.send(job) {
                    Ok(()) => return,
                    // The thread is gone (it cannot be, short of a panic): run it here.
                    Err(failed) => return (failed.0)(),
                }
            }
            let (sender, receiver) = channel();
            let fresh = Box::into_raw(Box::new(Queue { pid, sender: Mutex::new(sender) }));
            if QUEUE.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                let started =
                    std::thread::Builder::new().name("deviceauth-completions".into()).spawn(move || run(receiver));
                if started.is_err() {
                    // No thread: leave this queue unused, run the job right here.
                    return job();
                }
            } else {
                // SAFETY: `fresh` was never published.
                drop(unsafe { Box::from_raw(fresh) });
            }
        }
    }

    fn run(receiver: Receiver<Job>) {
        // Wait without the GIL; then run every job already queued while holding it once.
        while let Ok(first) = receiver.recv() {
            let ran = Python::try_attach(|_py| {
                first();
                while let Ok(next) = receiver.try_recv() {
                    next();
                }
            });
            if ran.is_none() {
                // The interpreter is shutting down: nothing can be delivered any more.
                return;
            }
        }
    }
}

/// The runtime for a spawn: always this process's own one (`future_into_py` has built it
/// already, so this is an atomic load and a `getpid`).
fn current() -> tokio::runtime::Handle {
    match runtime() {
        Ok(rt) => rt.handle().clone(),
        // Not reached: building it succeeded moments ago in `future_into_py`. Were it
        // reached, pyo3 turns the panic into a Python exception.
        Err(_) => panic!("deviceauth: the async runtime is not available"),
    }
}

impl ContextExt for ForkSafeTokio {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS.try_with(|c| c.get().cloned()).unwrap_or_default()
    }
}
