"""Shared pieces of the hand-run benchmarks: test corpus, throw-away servers, app, table output.

Owns: seeded generation of realistic client mail (Polish text, complete and
incomplete reports, attachments), appending it to a Dovecot mailbox, building
an `App` pointed at the throw-away servers of `tests/servers.py`, and printing
result tables. Must not contain product logic or timed assertions: benchmarks
report figures, they never pass or fail (issue 7: the machine is shared).
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as `python bench/x.py`: make `mailintake` and `tests` importable.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import structlog  # noqa: E402

from mailintake import log as logsetup  # noqa: E402
from mailintake.app import App  # noqa: E402
from tests.apps import make_app  # noqa: E402
from tests.mails import client_mail  # noqa: E402
from tests.servers import (  # noqa: E402, F401 - re-exported for the benchmarks
    CollectingHandler,
    DovecotServer,
    PgDatabases,
    SmtpServer,
    _admin_connection,
    _running_dovecot,
    free_port,
    running_smtp_server,
)

MB = 1024 * 1024

# --- corpus ----------------------------------------------------------------------------------

FIRST = [
    "Jan",
    "Anna",
    "Piotr",
    "Katarzyna",
    "Tomasz",
    "Magdalena",
    "Paweł",
    "Agnieszka",
    "Michał",
    "Joanna",
    "Krzysztof",
    "Ewa",
    "Marcin",
    "Barbara",
    "Łukasz",
    "Małgorzata",
]
LAST = [
    "Kowalski",
    "Nowak",
    "Wiśniewski",
    "Wójcik",
    "Kamiński",
    "Lewandowski",
    "Zieliński",
    "Szymański",
    "Woźniak",
    "Dąbrowski",
    "Kozłowski",
    "Jankowski",
    "Mazur",
    "Krawczyk",
]
DOMAINS = [
    "example.pl",
    "hurtownia-abc.pl",
    "zakladymiesne.com.pl",
    "logistyka-nord.pl",
    "acme.example.com",
    "szpital-powiatowy.pl",
    "urzad.gmina.pl",
    "transbud.eu",
]
SUBJECTS = [
    "Błąd przy generowaniu raportu",
    "Program zawiesza się przy zapisie faktury",
    "Nie działa synchronizacja z magazynem",
    "Problem z logowaniem do LOG System",
    "Zgłoszenie: błąd krytyczny po aktualizacji",
    "Raport R-12 zwraca puste dane",
    "Usługa LSA nie startuje",
    "QDesk Scheduler nie wykonuje zadań",
    "Wolne działanie modułu sprzedaży",
    "Błąd wydruku etykiet",
]
SENTENCES = [
    "Po aktualizacji do nowej wersji program przestał poprawnie generować zestawienia.",
    "Użytkownicy zgłaszają, że okno zamyka się bez żadnego komunikatu.",
    "Problem występuje na wszystkich stanowiskach w dziale księgowości.",
    "Restart serwera nie pomógł, a usługa po kilku minutach znowu się zatrzymuje.",
    "W dzienniku zdarzeń systemu Windows widać błąd aplikacji .NET Runtime.",
    "Prosimy o pilną pomoc, ponieważ nie możemy wystawiać faktur klientom.",
    "Sprawdziliśmy połączenie z bazą danych i wygląda na poprawne.",
    "Błąd pojawił się w poniedziałek rano, po nocnej kopii zapasowej.",
    "Na komputerze z Agentem usługa jest uruchomiona, ale nie odpowiada.",
    "Zrzut ekranu z komunikatem przesyłam w załączniku.",
    "Czy możliwe jest przywrócenie poprzedniej wersji do czasu naprawy?",
    "Dodatkowo raport magazynowy pokazuje ujemne stany, których nie powinno być.",
    "Zauważyliśmy, że problem dotyczy tylko użytkowników z uprawnieniami kierownika.",
    "Wcześniej wszystko działało bez zarzutu przez kilka miesięcy.",
]
FOOTER = (
    "\n--\n{name}\nSpecjalista ds. IT\n{domain}\ntel. +48 22 {tel}\n\n"
    "Treść tej wiadomości jest poufna i przeznaczona wyłącznie dla adresata. Jeżeli nie jesteś "
    "adresatem, poinformuj nadawcę i usuń wiadomość. Administratorem danych osobowych jest "
    "nadawca; informacje o przetwarzaniu danych znajdują się na stronie internetowej firmy.\n"
)
FREQUENCIES = ["Zawsze", "Często", "Czasami", "Raz"]


def _paragraphs(rng: random.Random, size: int) -> str:
    """Polish prose of about `size` characters, in paragraphs of 2 to 5 sentences."""
    out: list[str] = []
    length = 0
    while length < size:
        para = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(2, 5)))
        out.append(para)
        length += len(para) + 2
    return "\n\n".join(out)


def _body(rng: random.Random, name: str, domain: str, complete: bool, size: int) -> str:
    """A client's report: the SPEC §3 labelled fields when `complete`, free text otherwise."""
    text = _paragraphs(rng, size)
    fields = ""
    if complete:
        fields = (
            "\n\nScenariusz powtórzenia błędu: "
            f"Uruchomić raport R-{rng.randint(1, 40)} na użytkowniku admin, kliknąć Generuj.\n"
            f"Wersja oprogramowania: 6.{rng.randint(0, 3)}.{rng.randint(100, 999)}."
            f"{rng.randint(100, 999)}\n"
            f"Częstotliwość błędu: {rng.choice(FREQUENCIES)}\n\nLogi w załączniku.\n"
        )
    footer = FOOTER.format(name=name, domain=domain, tel=rng.randint(1000000, 9999999))
    return f"Dzień dobry,\n\n{text}{fields}\n\nPozdrawiam{footer}"


def _ascii(word: str) -> str:
    """`Łukasz` -> `lukasz`: a mailbox name as Polish companies spell it."""
    decomposed = unicodedata.normalize("NFKD", word.lower().replace("ł", "l"))
    return decomposed.encode("ascii", "ignore").decode()


def client_message(rng: random.Random, index: int, attachment_bytes: int = 0) -> bytes:
    """One realistic client mail of 3-10 KB, plus a binary attachment of `attachment_bytes`."""
    first, last, domain = rng.choice(FIRST), rng.choice(LAST), rng.choice(DOMAINS)
    name = f"{first} {last}"
    # Many distinct senders: the per-address autoreply cap (SPEC §5) must not hide the work.
    sender = f"{_ascii(first)}.{_ascii(last)}{index % 500}@{domain}"
    complete = rng.random() < 0.4
    body = _body(rng, name, domain, complete, rng.randint(500, 2000))
    html = "<html><body>" + "".join(f"<p>{p}</p>" for p in body.split("\n\n")) + "</body></html>"
    attachments = []
    if complete:
        attachments.append(("LOGSystem_logs.zip", "application/zip",
                            b"PK\x03\x04" + rng.randbytes(rng.randint(500, 2000))))  # fmt: skip
    if attachment_bytes:
        kind = rng.choice([("zrzut_ekranu.png", "image/png"), ("eksport.xlsx", "application/zip"),
                           ("LOGSystem_full_logs.zip", "application/zip")])  # fmt: skip
        attachments.append((*kind, rng.randbytes(attachment_bytes)))
    return client_mail(
        sender=sender, name=name, subject=rng.choice(SUBJECTS), body=body, html=html,
        attachments=attachments, message_id=f"bench.{index}.{rng.getrandbits(48):x}@{domain}",
    )  # fmt: skip


def corpus(kind: str, count: int, seed: int = 7) -> Iterator[bytes]:
    """`small`: text mails of 3-10 KB; `mixed`: 70 % small, 25 % +50-300 KB, 5 % +2-5 MB."""
    rng = random.Random(f"{seed}:{kind}")
    for index in range(count):
        extra = 0
        if kind == "mixed":
            roll = rng.random()
            if roll >= 0.95:
                extra = rng.randint(2 * MB, 5 * MB)
            elif roll >= 0.70:
                extra = rng.randint(50 * 1024, 300 * 1024)
        yield client_message(rng, index, extra)


def append_all(
    dovecot: DovecotServer, users: Sequence[str], mails: Iterable[bytes], chunk_bytes: int = 8 * MB
) -> tuple[int, int]:
    """MULTIAPPEND (RFC 3502) every mail to each user's INBOX; returns (count, bytes)."""
    clients = [dovecot.client(user) for user in users]
    count = size = 0
    pending: list[bytes] = []

    def flush() -> None:
        for client in clients:
            client.multiappend("INBOX", pending)
        pending.clear()

    try:
        for raw in mails:
            pending.append(raw)
            count, size = count + 1, size + len(raw)
            if sum(map(len, pending)) >= chunk_bytes or len(pending) >= 200:
                flush()
        if pending:
            flush()
    finally:
        for client in clients:
            client.logout()
    return count, size


# --- servers and the app ---------------------------------------------------------------------


@contextlib.contextmanager
def dovecot_server() -> Iterator[DovecotServer]:
    """A throw-away Dovecot (tests/servers.py), stopped and deleted afterwards."""
    with _running_dovecot() as server:
        yield server


smtp_server = running_smtp_server


@contextlib.contextmanager
def database(kind: str, state_dir: Path) -> Iterator[str | None]:
    """None for the default SQLite in `state_dir`, else the URL of a fresh PostgreSQL database."""
    if kind == "sqlite":
        yield None
        return
    databases = PgDatabases(_admin_connection())
    name, url = databases.create()
    try:
        yield url
    finally:
        databases.drop(name)
        databases.conn.close()


@contextlib.contextmanager
def state_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def bench_app(
    state: Path,
    *,
    database_url: str | None = None,
    dovecot: DovecotServer | None = None,
    user: str | None = None,
    smtp: SmtpServer | None = None,
    **env: str,
) -> App:
    """The app as `mailintake run` builds it, reading `user`'s INBOX and sending to `smtp`."""
    if dovecot is not None and user is not None:
        env.setdefault("INBOX_URL", dovecot.url(user))
        env.setdefault("IMAP_PASSWORD", dovecot.password)
    if smtp is not None:
        env.setdefault("SMTP_URL", smtp.url)
    return make_app(state, database_url=database_url, **env)


def quiet_logs() -> None:
    """Structured logging configured as the daemon does (JSON lines), written to /dev/null.

    The log lines are part of the daemon's work, so they are rendered; only the
    terminal output is spared.
    """
    logsetup.configure("json")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=open(os.devnull, "w")))  # noqa: SIM115


# --- output ----------------------------------------------------------------------------------


def machine() -> str:
    mem = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f", {int(line.split()[1]) / MB:.1f} GiB RAM"
    return f"{os.cpu_count()} CPUs{mem}, Python {platform.python_version()}, {platform.platform()}"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table (pastes into bench/README.md as it is)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in cells]  # fmt: skip
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def percentile(values: Sequence[float], pct: float) -> float:
    """The `pct` percentile (inclusive method); NaN when there are no values."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(pct) - 1]
