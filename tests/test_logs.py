"""Logs: console and rotating file, job id on each line, no secret ever written."""

from __future__ import annotations

import logging
from pathlib import Path

from audiofetch_app.core.logs import current_job_id, redact, register_secret, setup_logging


def test_file_log_has_job_id_and_no_secrets(tmp_path: Path, capsys) -> None:
    log_path = setup_logging(tmp_path / "logs")
    log = logging.getLogger("audiofetch_app.test")
    register_secret("s3cr3t-vault-value-42")
    token = current_job_id.set("job123abc")
    try:
        log.info("Requesting with cookie: auth_token=AAAA1111BBBB; ct0=CCCC2222")
        log.debug("Header Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAxyz%2Fabc")
        log.warning("login payload {'phone_code_hash': 'deadbeef99', 'password': 'hunter22'}")
        log.info("value from vault %s", "s3cr3t-vault-value-42")
        log.info("api_hash=0123456789abcdef0123456789abcdef string_session=1BVtsOKABu")
        try:
            raise RuntimeError("failed with token=tok_ABCDEFGH")
        except RuntimeError:
            log.exception("boom")
    finally:
        current_job_id.reset(token)
    log.info("outside any job")
    for handler in logging.getLogger("audiofetch_app").handlers:
        handler.flush()
    text = log_path.read_text()
    for secret in ("AAAA1111BBBB", "CCCC2222", "AAAAAAAAAAAAAAAAAAAAAxyz", "deadbeef99",
                   "hunter22", "s3cr3t-vault-value-42", "0123456789abcdef0123456789abcdef",
                   "1BVtsOKABu", "tok_ABCDEFGH"):
        assert secret not in text, secret
    assert "[job123abc]" in text and "[-]" in text
    assert "DEBUG" in text  # file gets DEBUG
    console = capsys.readouterr().err
    assert "DEBUG" not in console and "[job123abc]" in console
    assert "hunter22" not in console


def test_redact_keeps_ordinary_text() -> None:
    assert redact("Downloaded 12 segments from example.com") == (
        "Downloaded 12 segments from example.com")


def test_the_log_file_and_its_folder_are_private(tmp_path: Path) -> None:
    """The log names URLs, titles and channels: 0600 and 0700, as for the database; a file
    and folder left readable by an older version are closed too."""
    import logging

    from audiofetch_app.core import logs

    folder = tmp_path / "logs"
    folder.mkdir(mode=0o755)
    (folder / logs.LOG_FILE_NAME).write_text("old line\n")
    (folder / logs.LOG_FILE_NAME).chmod(0o644)
    path = logs.setup_logging(folder, console=False)
    logging.getLogger("audiofetch_app.test").info("a line")
    assert path is not None
    assert folder.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600
    assert "a line" in path.read_text()
