"""The course glossary: every term of the notes the course follows, and where it is taught.

``ENTRIES`` is the data (one :class:`Entry` per term); ``to_markdown()`` renders it
as the table shown by ``99-Glossary.ipynb``; ``lookup()`` searches it.  Each entry
names the one notebook (or assignment) that teaches the term; the names are
listed in ``NOTEBOOKS`` and ``ASSIGNMENTS`` and tested against the course's file
naming pattern (``NN.MM-Title-With-Dashes``).
"""
from __future__ import annotations

import re
from typing import NamedTuple

NOTEBOOKS = (
    "01.01-Processes-Threads-Coroutines",
    "01.02-The-GIL",
    "01.03-Multiprocessing",
    "01.04-Heap-and-Stack",
    "02.01-IPC-on-Linux",
    "02.02-Shared-Memory-and-Sockets",
    "02.03-Thread-Synchronisation",
    "02.04-Deadlock",
    "03.01-Coroutines-and-asyncio",
    "03.02-Greenlets-and-gevent",
    "03.03-Processes-plus-Coroutines",
    "04.01-Browser-Request-and-TCP",
    "04.02-TIME-WAIT-and-2MSL",
    "04.03-WSGI",
    "04.04-Cookies-and-Sessions",
)
ASSIGNMENTS = ("ps1_process_pool", "ps2_deadlock", "ps3_coroutine_scheduler")

NOTEBOOK_NAME = re.compile(r"^\d\d\.\d\d-[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")
ASSIGNMENT_NAME = re.compile(r"^ps\d+_[a-z0-9_]+$")


class Entry(NamedTuple):
    """One glossary term: the notes' Chinese term, the English term, a one-line
    definition, and the notebook (or assignment) that teaches it."""

    zh: str
    en: str
    definition: str
    where: str


_P, _G, _M, _H = NOTEBOOKS[0], NOTEBOOKS[1], NOTEBOOKS[2], NOTEBOOKS[3]
_IPC, _SHM, _SYNC, _DEAD = NOTEBOOKS[4], NOTEBOOKS[5], NOTEBOOKS[6], NOTEBOOKS[7]
_CO, _GV, _PC = NOTEBOOKS[8], NOTEBOOKS[9], NOTEBOOKS[10]
_WEB, _TW, _WSGI, _CS = NOTEBOOKS[11], NOTEBOOKS[12], NOTEBOOKS[13], NOTEBOOKS[14]
_PS1, _PS2, _PS3 = ASSIGNMENTS

ENTRIES: list[Entry] = [
    # --- processes, threads, coroutines (notes: 执行过程, 调度方式, 运行效率, 进程, 进程,线程,协程)
    Entry("进程", "process", "A running instance of a program: its own virtual address space, open files, a PID and at least one thread.", _P),
    Entry("程序", "program", "Code and data stored on disk; running it makes a process.", _P),
    Entry("线程", "thread", "A single flow of execution inside a process; the threads of a process share its memory and open files.", _P),
    Entry("主线程", "main thread", "The thread a process starts with; in Python the only thread that runs signal handlers.", _P),
    Entry("协程", "coroutine", "A function that can suspend itself and resume later where it stopped (Python: generators, async def, greenlets).", _P),
    Entry("微线程", "microthread / green thread", "A thread scheduled by a user-space library instead of the OS kernel (e.g. a greenlet).", _GV),
    Entry("用户态的轻量级线程", "user-level thread", "A thread the kernel does not know about; switching it needs no system call, but a blocking system call blocks them all.", _GV),
    Entry("子程序", "subroutine", "A function that runs from call to return without suspending; coroutines generalise it.", _P),
    Entry("执行序列 / 执行路径", "thread of execution", "The sequence of instructions a thread runs, from its entry point to its exit.", _P),
    Entry("线程上下文", "thread context", "The saved CPU registers (instruction pointer, stack pointer, ...) that let the OS resume a thread where it stopped.", _P),
    Entry("寄存器上下文", "register context", "The register values saved on a switch; a stackful coroutine saves them in user space, a generator saves only its frame.", _GV),
    Entry("CPU寄存器", "CPU register", "A small, fast storage slot inside the CPU; the program counter and stack pointer are registers.", _P),
    Entry("上下文切换", "context switch", "Saving the state of the running thread or process and restoring another's; costs CPU time and cache warmth.", _P),
    Entry("调度", "scheduling", "Deciding which runnable task gets a CPU next, and for how long.", _P),
    Entry("抢占式调度", "preemptive scheduling", "The OS can stop a thread at any moment (e.g. on a timer tick) and run another; processes and threads are scheduled so.", _P),
    Entry("协作式调度", "cooperative scheduling", "Each task runs until it gives up control itself (yield, await); coroutines are scheduled so.", _P),
    Entry("时间片", "time slice (quantum)", "The stretch of CPU time the scheduler gives a thread before it may switch to another.", _P),
    Entry("进程号 (pid)", "process ID (PID)", "The number the kernel gives a process; os.getpid() returns it, os.getppid() the parent's.", _P),
    Entry("系统资源", "system resources", "What the OS hands out to a process: memory, CPU time, file descriptors, a PID.", _P),
    Entry("系统资源分配的最小单位", "unit of resource allocation", "The process: memory and open files belong to processes, not to threads.", _P),
    Entry("CPU调度执行的最小单位", "unit of scheduling", "The thread: the kernel scheduler runs threads, not processes.", _P),
    Entry("创建和销毁开销", "creation and teardown cost", "The time and memory to start and end a process or thread; processes cost the most, coroutines the least.", _P),
    Entry("全局变量", "global variable", "A module-level name; the threads of a process share it, separate processes each have their own copy.", _P),
    Entry("用户态", "user mode", "The CPU mode ordinary code runs in; it needs a system call to ask the kernel for anything.", _P),
    Entry("内核态 / 内核切换", "kernel mode / mode switch", "The privileged CPU mode the kernel runs in; a system call or interrupt switches into it and back.", _P),
    Entry("内存空间 (独立)", "virtual address space", "The private range of memory addresses each process sees; another process cannot read it without IPC.", _H),
    # --- the GIL and CPU use (notes: CPU利用, 最佳实践, GIL锁)
    Entry("全局解释器锁 (GIL)", "global interpreter lock (GIL)", "The lock in CPython that lets one thread at a time execute Python bytecode in an interpreter.", _G),
    Entry("字节码", "bytecode", "The instructions CPython compiles Python source into and then interprets (see the dis module).", _G),
    Entry("线程安全", "thread-safe", "Correct when called from several threads at once, without callers adding their own locking.", _G),
    Entry("伪多线程", "\"fake multithreading\" (a misconception)", "The notes' word for threads under the GIL: they are real OS threads; only bytecode execution is serialised.", _G),
    Entry("释放GIL", "releasing the GIL", "What blocking I/O and many C extensions (e.g. hashlib on large data) do so other threads can run meanwhile.", _G),
    Entry("切换间隔", "switch interval", "How long a thread may hold the GIL before it is asked to drop it: sys.getswitchinterval(), 5 ms by default.", _G),
    Entry("自由线程 (无GIL)", "free-threaded build", "CPython built without the GIL (3.13t, 3.14t; PEP 703, PEP 779): threads run bytecode in parallel.", _G),
    Entry("阻塞型IO", "blocking I/O", "An I/O call that waits until data arrives or is sent; the calling thread sleeps and releases the GIL.", _G),
    Entry("IO密集型", "I/O-bound", "Work that spends most of its time waiting for I/O; threads and coroutines suit it.", _G),
    Entry("CPU密集型", "CPU-bound", "Work limited by computation; in CPython with a GIL, use processes to use several cores.", _M),
    Entry("多核", "multi-core CPU", "A CPU with several cores, each able to run a thread at the same moment; os.cpu_count() counts them.", _M),
    # --- multiprocessing (notes: 进程, Python进程通讯, 进程池, 僵尸进程)
    Entry("多进程", "multiprocessing", "Running work in several processes; Python's multiprocessing module mirrors the threading API for processes.", _M),
    Entry("创建进程", "process creation", "fork/exec or posix_spawn on POSIX, CreateProcess on Windows; in Python multiprocessing.Process or subprocess.", _M),
    Entry("启动方式", "start method", "How multiprocessing creates a child: fork, spawn or forkserver; choose it with multiprocessing.get_context().", _M),
    Entry("fork (派生)", "fork", "Start method that copies the parent process (POSIX only); fast, but copies locks and threads' state unsafely.", _M),
    Entry("spawn (全新启动)", "spawn", "Start method that starts a fresh interpreter and imports the target by name; default on Windows and macOS.", _M),
    Entry("forkserver (fork服务器)", "forkserver", "Start method where a clean single-threaded server process forks the children; Linux default from Python 3.14.", _M),
    Entry("序列化 (pickle)", "pickling", "Turning an object into bytes to send it to another process; functions pickle by module and name only.", _M),
    Entry("进程池", "process pool", "A fixed set of worker processes that take tasks from a queue: multiprocessing.Pool, ProcessPoolExecutor.", _M),
    Entry("进程池执行器", "ProcessPoolExecutor", "The concurrent.futures process pool: submit() returns a Future; map() returns results in order.", _M),
    Entry("未来对象", "future", "A placeholder for a result that is not ready yet; result(timeout) waits for it or re-raises the worker's exception.", _M),
    Entry("工作进程", "worker process", "A process of a pool that runs tasks one after another.", _PS1),
    Entry("任务队列", "task queue", "The queue a pool's workers take tasks from; results come back on another queue.", _PS1),
    Entry("队列 (Queue)", "queue (multiprocessing.Queue)", "A FIFO channel between processes, built on a pipe, a lock and a feeder thread.", _M),
    Entry("阻塞", "blocking call", "A call that waits until it can finish (get on an empty queue, put on a full one) unless block=False or a timeout is given.", _M),
    Entry("超时", "timeout", "The longest a blocking call may wait; then it raises (queue.Empty, queue.Full, TimeoutError).", _M),
    Entry("消息数量 (qsize)", "qsize()", "Approximate number of items in a queue; raises NotImplementedError on macOS.", _M),
    Entry("退出码", "exit code", "The status a process ends with: 0 for success; Process.exitcode is -N if signal N killed it.", _M),
    Entry("守护进程 (daemon标志)", "daemon process", "In multiprocessing, a child that is terminated when its parent exits (Process(daemon=True)).", _M),
    Entry("僵尸进程", "zombie process", "A process that has exited but whose parent has not yet waited for it; only its exit status remains (STAT Z).", _M),
    Entry("孤儿进程", "orphan process", "A process whose parent has exited; the kernel re-parents it to the nearest subreaper or to init.", _M),
    Entry("回收 (wait)", "reaping", "A parent collecting a dead child's exit status with wait()/waitpid(), which removes the zombie.", _M),
    Entry("SIGCHLD信号", "SIGCHLD", "The signal the kernel sends a parent when a child stops or exits; a handler can reap there.", _M),
    Entry("子进程收割者", "child subreaper", "A process marked with prctl(PR_SET_CHILD_SUBREAPER) that adopts orphaned descendants instead of init (Linux).", _M),
    Entry("进程状态 (STAT)", "process state", "The state column of ps: R running, S sleeping, D disk wait, T stopped, Z zombie (plus flag letters).", _M),
    # --- heap and stack (notes: 堆和栈)
    Entry("堆 (内存)", "heap (memory)", "Memory for objects whose lifetime is not tied to a call; allocated and freed in any order, no FIFO/LIFO.", _H),
    Entry("堆 (数据结构)", "heap (data structure)", "A tree kept in an array where the smallest item is on top: heapq, a priority queue.", _H),
    Entry("优先队列", "priority queue", "A queue that always hands out the smallest (highest-priority) item next: heapq, queue.PriorityQueue.", _H),
    Entry("栈", "stack", "Memory used last-in first-out: each call pushes a frame and its return pops it.", _H),
    Entry("调用栈", "call stack", "The chain of active function calls of a thread, innermost last; a traceback prints it.", _H),
    Entry("栈帧", "stack frame", "The record of one active call: locals, arguments, return point; CPython's Python frames live on its heap.", _H),
    Entry("先进先出 (FIFO)", "first in, first out (FIFO)", "Items leave in the order they came: queue.Queue, a pipe.", _H),
    Entry("先进后出 (FILO)", "last in, first out (LIFO, FILO)", "The newest item leaves first: a stack, queue.LifoQueue.", _H),
    Entry("数组", "array", "A contiguous sequence of same-typed elements; Python's list is a dynamic array of references, array.array one of raw values.", _H),
    Entry("对象", "object", "In Python everything is an object on the heap with a type and a reference count; variables are names bound to objects.", _H),
    Entry("局部变量", "local variable", "A name bound inside a function; it lives in the call's frame, the object it names lives on the heap.", _H),
    Entry("作用域", "scope", "The region of code where a name is visible (local, enclosing, global, builtins).", _H),
    Entry("垃圾", "garbage", "Objects no longer reachable from the program; CPython frees them at once by reference counting or later by the cycle collector.", _H),
    Entry("垃圾回收", "garbage collection", "Automatic freeing of unreachable memory: CPython uses reference counting plus a cyclic collector (gc).", _H),
    Entry("引用计数", "reference counting", "Each object counts the references to it and is freed the moment the count drops to zero (sys.getrefcount).", _H),
    Entry("循环垃圾回收", "cyclic garbage collector", "CPython's gc module: finds groups of objects that refer only to each other and frees them.", _H),
    Entry("弱引用", "weak reference", "A reference that does not keep its object alive (weakref); weakref.finalize runs a callback when the object dies.", _H),
    Entry("递归限制", "recursion limit", "The maximum depth of Python calls before RecursionError: sys.getrecursionlimit(), 1000 by default.", _H),
    Entry("栈溢出", "stack overflow", "Running past the end of a thread's C stack; the process dies with SIGSEGV.", _H),
    Entry("线程栈大小", "thread stack size", "The C stack size of new threads: threading.stack_size(); the main thread's limit is RLIMIT_STACK.", _H),
    Entry("内存映射", "memory map (mmap)", "A region of the address space backed by a file or anonymous memory; /proc/<pid>/maps lists them on Linux.", _H),
    Entry("代码段 / 数据段", "text segment / data segment", "The mapped machine code of a program and its initialised global data.", _H),
    Entry("内存分配跟踪", "tracemalloc", "The standard-library module that records where Python allocates memory and the peak usage.", _H),
    # --- IPC (notes: Linux进程/线程之间通讯)
    Entry("进程间通信", "inter-process communication (IPC)", "Any way for processes to exchange data or signals: pipes, FIFOs, signals, System V/POSIX IPC, sockets.", _IPC),
    Entry("管道", "pipe", "A one-way kernel byte buffer with a read end and a write end, inherited by related processes (pipe(2)).", _IPC),
    Entry("有名管道", "named pipe (FIFO)", "A pipe with a name in the file system (mkfifo), so unrelated processes can open it.", _IPC),
    Entry("信号", "signal", "An asynchronous notification the kernel delivers to a process (SIGINT, SIGTERM, SIGCHLD); carries almost no data.", _IPC),
    Entry("System V进程通信", "System V IPC", "The older IPC family of semaphores, message queues and shared memory, named by integer keys (ipcs lists them).", _SHM),
    Entry("信号量", "semaphore", "A counter with atomic wait (decrement, blocking at zero) and post (increment), used to limit access to a resource.", _SHM),
    Entry("消息队列", "message queue", "A kernel-held queue of typed messages that processes send and receive (msgget/msgsnd/msgrcv, mq_open).", _SHM),
    Entry("消息队列标识符", "message queue identifier", "The integer id (msqid) System V returns for a message queue; ipcs -q lists them.", _SHM),
    Entry("链表", "linked list", "A chain of nodes each pointing to the next; the kernel keeps a System V message queue this way.", _SHM),
    Entry("共享内存", "shared memory", "The same physical memory mapped into several processes; fastest IPC, but needs separate synchronisation.", _SHM),
    Entry("套接字", "socket", "An endpoint for communication between processes on one host (AF_UNIX) or across a network (AF_INET).", _SHM),
    Entry("远程过程调用", "remote procedure call (RPC)", "Calling a function in another process or host as if it were local; built on sockets (e.g. xmlrpc, gRPC).", _SHM),
    Entry("TCP/IP", "TCP/IP", "The Internet protocol suite: IP routes packets between hosts, TCP gives a reliable ordered byte stream over it.", _SHM),
    Entry("半双工", "half-duplex", "Data flows one way at a time; a pipe is one-way (simplex), so two-way talk needs two pipes.", _IPC),
    Entry("全双工", "full-duplex", "Data can flow both ways at once, as on a socket or socketpair.", _IPC),
    Entry("亲缘关系 (父子进程)", "related processes", "Processes with a common ancestor that created the pipe; only they inherit an unnamed pipe's file descriptors.", _IPC),
    Entry("无格式的字节流", "byte stream", "Data without message boundaries: a reader may get any split of what writers wrote.", _IPC),
    Entry("管道缓冲区", "pipe buffer", "Kernel memory holding unread pipe data: 65536 bytes by default on Linux (F_GETPIPE_SZ), not one page.", _IPC),
    Entry("原子写入 (PIPE_BUF)", "PIPE_BUF", "The largest pipe write guaranteed not to interleave with others: 4096 bytes on Linux (pipe(7)).", _IPC),
    Entry("页面", "page", "The unit of memory the kernel manages, usually 4096 bytes (os.sysconf('SC_PAGE_SIZE')).", _IPC),
    Entry("文件描述符", "file descriptor", "A small integer naming an open file, pipe or socket in a process.", _IPC),
    Entry("内核", "kernel", "The core of the OS that schedules tasks, manages memory and owns IPC objects.", _IPC),
    # --- thread synchronisation (notes: 线程间通信方式, 异步的使用场景)
    Entry("锁机制", "locking", "Synchronising threads with locks: mutexes, condition variables, reader-writer locks.", _SYNC),
    Entry("互斥锁", "mutex (lock)", "A lock only one thread can hold at a time; threading.Lock.", _SYNC),
    Entry("条件变量", "condition variable", "Lets a thread wait, with a mutex held and released atomically, until another thread signals a condition may hold.", _SYNC),
    Entry("读写锁", "reader-writer lock", "Many readers or one writer at a time; Python's standard library has none, you build one from a Condition.", _SYNC),
    Entry("无名线程信号量", "unnamed semaphore", "A semaphore in memory shared by threads or related processes (sem_init; threading.Semaphore).", _SYNC),
    Entry("命名线程信号量", "named semaphore", "A semaphore with a system-wide name that unrelated processes can open (sem_open).", _SYNC),
    Entry("信号机制 (线程)", "signals and threads", "Signals go to a process and one of its threads handles them; in Python always the main thread.", _SYNC),
    Entry("同步", "synchronisation", "Coordinating threads or processes so that shared state stays consistent and events happen in the required order.", _SYNC),
    Entry("共享资源", "shared resource", "Data or a device used by several threads or processes, needing coordination when anyone writes.", _SYNC),
    Entry("互斥操作", "mutual exclusion", "Making sure at most one thread is inside a critical section at a time.", _SYNC),
    Entry("临界区", "critical section", "Code that touches a shared resource and must not run in two threads at once.", _SYNC),
    Entry("原子操作", "atomic operation", "An operation that others see either not started or complete, never half done.", _SYNC),
    Entry("竞态条件", "race condition", "A bug whose outcome depends on the timing of threads, e.g. a lost update in read-modify-write.", _SYNC),
    # --- deadlock
    Entry("死锁", "deadlock", "Tasks each wait for a resource another holds, so none can proceed.", _DEAD),
    Entry("资源竞争", "resource contention", "Several tasks wanting the same resource at the same time.", _DEAD),
    Entry("循环等待", "circular wait", "A cycle in the wait-for graph: A waits for B, B for A; one of the four Coffman conditions.", _DEAD),
    Entry("加锁顺序", "lock ordering", "Always acquiring locks in one global order, which makes circular wait and hence deadlock impossible.", _DEAD),
    Entry("等待图", "wait-for graph", "A graph with an edge from each waiting task to the task holding what it waits for; a cycle is a deadlock.", _PS2),
    # --- coroutines and async (notes: 协程, 异步的使用场景, GIL锁, 最佳实践)
    Entry("异步", "asynchronous", "Starting an operation and continuing without waiting for it; the result is picked up later (callback, future, await).", _CO),
    Entry("单线程的异步编程模型", "single-threaded asynchronous model", "One thread runs many tasks, switching only at await points, driven by an event loop.", _CO),
    Entry("事件循环", "event loop", "The scheduler of asyncio: runs ready tasks and waits for I/O for the rest (epoll/kqueue; I/O completion ports on Windows).", _CO),
    Entry("有栈协程", "stackful coroutine", "A coroutine with its own C stack that can switch from any call depth: a greenlet.", _GV),
    Entry("无栈协程", "stackless coroutine", "A coroutine that saves only its own frame and can suspend only at its own yield/await: generators, async def (PEP 380, PEP 492).", _GV),
    Entry("生成器", "generator", "A function with yield; calling it returns an iterator that runs the body step by step.", _CO),
    Entry("gevent", "gevent", "A library of greenlets plus an event loop; it switches when a patched blocking call would wait.", _GV),
    Entry("greenlet", "greenlet", "A stackful coroutine for CPython: greenlet.switch() jumps between them explicitly.", _GV),
    Entry("猴子补丁", "monkey patching", "Replacing library functions at run time; gevent.monkey.patch_all() swaps blocking socket/time calls for cooperative ones.", _GV),
    Entry("耗时操作", "blocking operation", "A call that waits (network, disk, sleep); the moment a coroutine library switches to another task.", _GV),
    Entry("asyncio", "asyncio", "Python's standard library for async/await: event loop, tasks, futures, streams, locks.", _CO),
    Entry("await", "await", "Suspends the current coroutine until the awaited object is done; the only place an asyncio task can be switched out.", _CO),
    Entry("时序关系", "ordering constraint", "A requirement that one operation happen before another; asynchronous code must state it explicitly.", _CO),
    Entry("只读", "read-only access", "Sharing data that nobody writes; needs no lock.", _CO),
    Entry("调度器 (协作式)", "cooperative scheduler", "The loop that decides which coroutine to resume next.", _PS3),
    Entry("多进程+协程", "processes plus coroutines", "One process per core, each running an event loop with many coroutines: uses all cores and overlaps I/O.", _PC),
    Entry("高并发", "high concurrency", "Handling many requests or connections in progress at the same time.", _PC),
    Entry("异步框架", "asynchronous framework", "A library that provides the event loop and async I/O (Twisted, asyncio, Tornado, gevent).", _PC),
    Entry("Twisted", "Twisted", "An event-driven networking framework for Python (callbacks and Deferreds) on which Scrapy runs.", _PC),
    Entry("Scrapy", "Scrapy", "A web-crawling framework that schedules many concurrent requests on Twisted's event loop.", _PC),
    # --- the browser and TCP (notes: 描述用浏览器访问www.baidu.com的过程)
    Entry("域名解析", "DNS resolution", "Turning a host name into IP addresses by asking DNS servers (socket.getaddrinfo); usually UDP, TCP for large answers.", _WEB),
    Entry("三次握手", "three-way handshake", "How TCP opens a connection: SYN, SYN-ACK, ACK.", _WEB),
    Entry("TCP连接", "TCP connection", "A reliable, ordered, two-way byte stream between two (IP, port) endpoints.", _WEB),
    Entry("HTTP请求", "HTTP request", "A method, a path, headers and maybe a body sent by the client.", _WEB),
    Entry("HTTP响应", "HTTP response", "A status line, headers and a body sent back by the server.", _WEB),
    Entry("报文", "HTTP message", "An HTTP request or response as bytes on the connection.", _WEB),
    Entry("html代码", "HTML", "The markup language of web pages; the browser parses it and fetches the resources it names.", _WEB),
    Entry("渲染", "rendering", "The browser turning HTML, CSS and images into pixels on the screen.", _WEB),
    Entry("四次挥手", "four-way close (connection termination)", "How TCP closes: each side sends FIN and the other ACKs it; four segments, or three when the second FIN rides on the ACK.", _WEB),
    Entry("长连接", "persistent connection (keep-alive)", "Reusing one TCP connection for several HTTP requests, the default since HTTP/1.1.", _WEB),
    Entry("HTTPS", "HTTPS (TLS)", "HTTP inside a TLS session: the server proves its identity and traffic is encrypted.", _WEB),
    Entry("端口", "port", "The 16-bit number that, with an IP address, names a TCP or UDP endpoint.", _WEB),
    Entry("回环地址", "loopback address", "127.0.0.1 (::1): traffic to it never leaves the machine; every network demo of this course uses it.", _WEB),
    Entry("报文段", "TCP segment", "One unit of TCP data with its header (ports, sequence and ACK numbers, flags).", _WEB),
    # --- TIME_WAIT and 2MSL (notes: TCP的2MSL)
    Entry("最长报文段寿命", "maximum segment lifetime (MSL)", "The longest a TCP segment is assumed to survive in the network (RFC 9293).", _TW),
    Entry("2MSL", "2MSL", "Twice the MSL: how long the side that closed first stays in TIME-WAIT (Linux uses a fixed 60 s).", _TW),
    Entry("TIME_WAIT状态", "TIME-WAIT state", "The state of the side that closed first, after the last ACK; it keeps the connection's 4-tuple reserved for 2MSL.", _TW),
    Entry("主动关闭端", "active closer", "The side that sends the first FIN; it is the one that enters TIME-WAIT.", _TW),
    Entry("被动关闭端", "passive closer", "The side that receives the first FIN (CLOSE-WAIT, then LAST-ACK).", _TW),
    Entry("ACK应答包", "ACK", "A TCP segment acknowledging received data or a FIN.", _TW),
    Entry("FIN包", "FIN", "The TCP flag meaning \"I will send no more data\"; the notes wrongly call the peer's FIN a third handshake.", _TW),
    Entry("重传", "retransmission", "Sending a segment again when its ACK does not arrive in time.", _TW),
    Entry("迟到的报文段", "delayed duplicate segment", "An old segment still in the network; TIME-WAIT lets it expire before the 4-tuple is reused.", _TW),
    Entry("SO_REUSEADDR", "SO_REUSEADDR", "Socket option that lets a server bind a port that still has connections in TIME-WAIT.", _TW),
    # --- WSGI (notes: 简述浏览器通过WSGI请求动态资源的过程)
    Entry("WSGI", "WSGI", "The Python standard interface between web servers and applications (PEP 3333): app(environ, start_response).", _WSGI),
    Entry("Nginx", "Nginx", "A web server often used in front of Python apps to serve static files and forward other requests.", _WSGI),
    Entry("反向代理 (转发)", "reverse proxy", "A server that receives clients' requests and forwards them to back-end servers.", _WSGI),
    Entry("静态资源", "static resource", "A file served as is (CSS, JS, images).", _WSGI),
    Entry("动态资源", "dynamic resource", "A response computed by application code for each request.", _WSGI),
    Entry("URL的PATH", "URL path", "The part of a URL after the host, used to route a request (PATH_INFO in environ).", _WSGI),
    Entry("environ字典", "environ", "The dict a WSGI server passes to the app: CGI-style request variables plus wsgi.* keys.", _WSGI),
    Entry("start_response", "start_response", "The callable a WSGI app calls with the status and headers before returning the body iterable.", _WSGI),
    Entry("WSGI应用", "WSGI application", "A callable taking (environ, start_response) and returning an iterable of bytes.", _WSGI),
    Entry("WSGI服务器", "WSGI server", "The program that speaks HTTP and calls the WSGI app (wsgiref, gunicorn, uWSGI).", _WSGI),
    Entry("中间件", "middleware", "A WSGI app that wraps another one, changing requests or responses on the way.", _WSGI),
    # --- cookies and sessions (notes: cookie和session)
    Entry("cookie", "cookie", "A name=value pair a server sets with Set-Cookie and the browser sends back with matching requests (RFC 6265).", _CS),
    Entry("会话 (session)", "session", "Per-user state across requests, kept on the server under an id or in a signed cookie.", _CS),
    Entry("sessionID", "session ID", "A random, unguessable token that identifies a server-side session, usually carried in a cookie.", _CS),
    Entry("过期时间", "expiry (Expires / Max-Age)", "When the browser drops a cookie; without it the cookie lasts for the browsing session.", _CS),
    Entry("路径和域", "Path and Domain attributes", "Cookie attributes that limit which URLs the browser sends the cookie to.", _CS),
    Entry("签名cookie", "signed cookie", "A cookie with a MAC so the server can detect tampering; the user can still read it (Flask sessions).", _CS),
    Entry("HttpOnly / Secure / SameSite", "cookie security attributes", "Hide the cookie from JavaScript, send it only over HTTPS, limit cross-site sending.", _CS),
    Entry("禁用cookie时用GET返回", "URL rewriting", "Putting the session id in the URL when cookies are off; leaks it in logs and Referer headers.", _CS),
    Entry("无状态", "stateless protocol", "HTTP itself remembers nothing between requests; cookies and sessions add state.", _CS),
]


def is_notebook_name(name: str) -> bool:
    """True if *name* follows the course pattern ``NN.MM-Title-With-Dashes`` (no ``.ipynb``)."""
    return bool(NOTEBOOK_NAME.match(name))


def is_assignment_name(name: str) -> bool:
    """True if *name* looks like an assignment id, e.g. ``ps1_process_pool``."""
    return bool(ASSIGNMENT_NAME.match(name))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def link(where: str) -> str:
    """Markdown for the place a term is taught: a notebook link or an assignment name."""
    if where in ASSIGNMENTS:
        return f"assignment *{where}*"
    return f"[{where}]({where}.ipynb)"


def sorted_entries(entries=None) -> list[Entry]:
    """Entries in alphabetical order of the English term (case-insensitive)."""
    return sorted(ENTRIES if entries is None else entries,
                  key=lambda e: e.en.lower().lstrip("\"'").replace("(", ""))


def to_markdown(entries=None) -> str:
    """Render *entries* (default: all, alphabetical) as a markdown table."""
    rows = ["| Chinese (notes) | English | Definition | Taught in |", "|---|---|---|---|"]
    for e in sorted_entries(entries):
        rows.append(f"| {_cell(e.zh)} | **{_cell(e.en)}** | {_cell(e.definition)} | {link(e.where)} |")
    return "\n".join(rows)


def lookup(text: str, entries=None) -> list[Entry]:
    """Entries whose Chinese or English term or definition contains *text* (case-insensitive)."""
    needle = text.lower()
    return [e for e in sorted_entries(entries)
            if needle in e.zh.lower() or needle in e.en.lower() or needle in e.definition.lower()]


def by_place(entries=None) -> dict[str, list[Entry]]:
    """``{notebook or assignment: [entries]}`` in course order."""
    places = {name: [] for name in NOTEBOOKS + ASSIGNMENTS}
    for e in sorted_entries(entries):
        places[e.where].append(e)
    return places
