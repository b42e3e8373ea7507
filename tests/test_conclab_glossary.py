"""Tests for course/conclab/glossary.py: complete entries, valid places, a table that renders."""

from conclab import glossary as g

# Terms of every section of the notes the course follows; each must have an entry.
NOTES_TERMS = [
    "进程", "线程", "协程", "微线程", "子程序", "线程上下文", "上下文切换", "调度", "时间片", "全局变量",
    "用户态", "全局解释器锁", "字节码", "线程安全", "伪多线程", "阻塞型IO", "IO密集型", "CPU密集型",
    "多核", "多进程+协程", "Twisted", "Scrapy", "进程间通信", "管道", "有名管道", "信号", "信号量",
    "消息队列", "共享内存", "套接字", "远程过程调用", "半双工", "管道缓冲区", "页面", "锁机制",
    "互斥锁", "条件变量", "读写锁", "无名线程信号量", "命名线程信号量", "僵尸进程", "堆", "栈",
    "先进先出", "先进后出", "数组", "对象", "局部变量", "作用域", "垃圾", "进程号", "队列",
    "进程池", "异步", "共享资源", "互斥操作", "原子操作", "死锁", "资源竞争", "gevent", "耗时操作",
    "WSGI", "Nginx", "静态资源", "动态资源", "environ", "start_response", "中间件", "域名解析",
    "三次握手", "HTTP请求", "渲染", "四次挥手", "cookie", "session", "sessionID", "过期时间",
    "2MSL", "TIME_WAIT", "ACK", "FIN", "SO_REUSEADDR", "迟到的报文段",
]


def test_every_entry_is_complete():
    for e in g.ENTRIES:
        for field in e._fields:
            value = getattr(e, field)
            assert isinstance(value, str) and value.strip(), f"{e.en or e.zh}: empty {field}"
        assert "\n" not in e.definition, f"{e.en}: a definition is one line"
        assert len(e.definition) <= 200, f"{e.en}: definition longer than one line ({len(e.definition)} chars)"


def test_every_place_follows_the_naming_pattern():
    for name in g.NOTEBOOKS:
        assert g.is_notebook_name(name), f"{name} does not match NN.MM-Title-With-Dashes"
    for name in g.ASSIGNMENTS:
        assert g.is_assignment_name(name), name
    for e in g.ENTRIES:
        assert e.where in g.NOTEBOOKS or e.where in g.ASSIGNMENTS, f"{e.en}: unknown place {e.where!r}"
        assert g.is_notebook_name(e.where) or g.is_assignment_name(e.where), e.where


def test_naming_pattern_rejects_bad_names():
    for bad in ["1.3-Multiprocessing", "01.03_Multiprocessing", "01.03-Multi processing",
                "01.03-Multiprocessing.ipynb", "01-03-Multiprocessing", "01.03-"]:
        assert not g.is_notebook_name(bad), bad
    assert g.is_notebook_name("01.03-Multiprocessing")


def test_notes_terms_are_all_covered():
    missing = [t for t in NOTES_TERMS if not any(t.lower() in e.zh.lower() for e in g.ENTRIES)]
    assert not missing, f"terms of the notes without a glossary entry: {missing}"


def test_no_duplicate_terms_and_every_notebook_used():
    english = [e.en.lower() for e in g.ENTRIES]
    assert len(english) == len(set(english)), "duplicate English terms"
    chinese = [e.zh for e in g.ENTRIES]
    assert len(chinese) == len(set(chinese)), "duplicate Chinese terms"
    places = g.by_place()
    assert all(places[name] for name in g.NOTEBOOKS), [n for n in g.NOTEBOOKS if not places[n]]


def test_markdown_table_has_one_row_per_entry_and_escapes_pipes():
    table = g.to_markdown()
    lines = table.splitlines()
    assert lines[0].startswith("| Chinese") and set(lines[1]) <= set("|-")
    assert len(lines) == 2 + len(g.ENTRIES)
    assert all(line.count(" | ") == 3 for line in lines[2:])  # four columns, no stray pipes
    row = g.to_markdown([g.Entry("管道", "a | b", "x | y", g.NOTEBOOKS[4])]).splitlines()[2]
    assert "a \\| b" in row and "x \\| y" in row


def test_links_point_to_notebook_files_and_assignments_are_named():
    assert g.link("01.03-Multiprocessing") == "[01.03-Multiprocessing](01.03-Multiprocessing.ipynb)"
    assert "ps1_process_pool" in g.link("ps1_process_pool") and "](" not in g.link("ps1_process_pool")


def test_lookup_finds_both_languages():
    assert any(e.en == "zombie process" for e in g.lookup("僵尸"))
    assert any(e.zh == "僵尸进程" for e in g.lookup("ZOMBIE"))
    assert g.lookup("no such term at all") == []
