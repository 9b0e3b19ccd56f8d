"""The Space mux fed while chunks arrive: order, resume, cancel, fallback, bounded memory."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from audiofetch_app.core.job_record import JobState
from audiofetch_app.sources import spaces
from audiofetch_app.sources.spaces import pipe_mux, source
from audiofetch_app.sources.spaces.pipe_mux import PipeMux, StreamBroken
from audiofetch_app.sources.spaces.recorder import Recorder
from tests.fakes.space_audio import measure_tones, tone_hz
from tests.fakes.x_server import FakeSpace, FakeX
from tests.test_spaces import _check_audio, _download


async def _spawned(mux: PipeMux) -> None:
    """Until the feeder has started FFmpeg (it does once the cover is known)."""
    for _ in range(500):
        if mux._proc is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("FFmpeg was not started")


def _no_join(*_args, **_kwargs):
    raise AssertionError("the chunks were joined after the recording instead of streamed")


async def test_a_replay_is_muxed_while_it_downloads(fake_x: FakeX, runtime, monkeypatch) -> None:
    monkeypatch.setattr(source, "join_chunks", _no_join)
    fake_x.add_space(FakeSpace("1StreamAbcdEf", chunks=40, junk_every=3))
    fake_x.fail_chunk("1StreamAbcdEf", 0, times=2)  # the first chunk is late: others wait
    job = await _download(runtime, fake_x, "1StreamAbcdEf", workers=8)
    assert job.state == JobState.DONE, job.error
    out = Path(job.output_path)
    _check_audio(out, fake_x, "1StreamAbcdEf")
    assert not list(out.parent.glob("*.part")) and not list(out.parent.glob(".*chunks"))


async def test_mp3_is_encoded_while_it_downloads(fake_x: FakeX, runtime, monkeypatch) -> None:
    monkeypatch.setattr(source, "join_chunks", _no_join)
    fake_x.add_space(FakeSpace("1StreamMp3Abc", chunks=8))
    job = await _download(runtime, fake_x, "1StreamMp3Abc", format="mp3")
    assert job.state == JobState.DONE, job.error
    assert Path(job.output_path).suffix == ".mp3"
    _check_audio(Path(job.output_path), fake_x, "1StreamMp3Abc")


async def test_a_broken_stream_falls_back_to_joining(fake_x: FakeX, runtime, monkeypatch) -> None:
    async def broken(self, chunks):
        await self.abort()
        raise StreamBroken("test")

    monkeypatch.setattr(PipeMux, "finish", broken)
    fake_x.add_space(FakeSpace("1FallAbcdEfgh", chunks=6, junk_every=2))
    job = await _download(runtime, fake_x, "1FallAbcdEfgh")
    assert job.state == JobState.DONE, job.error
    _check_audio(Path(job.output_path), fake_x, "1FallAbcdEfgh")


async def test_a_resumed_job_feeds_the_chunks_it_has_first(fake_x: FakeX, runtime,
                                                           monkeypatch) -> None:
    monkeypatch.setattr(source, "join_chunks", _no_join)
    fake_x.add_space(FakeSpace("1ResumeAbcdEf", chunks=12))
    fake_x.fail_chunk("1ResumeAbcdEf", 9, times=50, status=404)
    failed = await _download(runtime, fake_x, "1ResumeAbcdEf", workers=2)
    assert failed.state == JobState.FAILED
    assert not Path(failed.output_path).exists()
    assert not Path(failed.output_path + ".part").exists()
    fake_x.fail_chunk("1ResumeAbcdEf", 9, times=0)
    await runtime.jobs.retry(failed.id)
    done = await asyncio.wait_for(runtime.jobs.wait(failed.id), 60)
    assert done.state == JobState.DONE, done.error
    _check_audio(Path(done.output_path), fake_x, "1ResumeAbcdEf")
    hits = fake_x.chunk_hits("1ResumeAbcdEf")
    assert all(hits[seq] == 1 for seq in range(8))  # kept from the first try, not fetched


async def test_cancelling_a_replay_kills_ffmpeg_and_keeps_nothing(fake_x: FakeX, runtime,
                                                                  monkeypatch) -> None:
    muxes: list[PipeMux] = []
    real_init = PipeMux.__init__

    def remember(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        muxes.append(self)

    monkeypatch.setattr(PipeMux, "__init__", remember)
    fake_x.latency = 0.05
    fake_x.add_space(FakeSpace("1CancelAbcdEf", chunks=200))
    job = await runtime.jobs.submit(spaces.KIND, fake_x.space_url("1CancelAbcdEf"),
                                    {"workers": 2})
    while (runtime.jobs.get(job.id).items_done or 0) < 5:
        await asyncio.sleep(0.02)
    await asyncio.wait_for(runtime.jobs.cancel(job.id), 30)
    done = await runtime.jobs.wait(job.id)
    assert done.state == JobState.CANCELLED
    out = Path(done.output_path)
    assert not out.exists() and not out.with_name(out.name + ".part").exists()
    assert muxes and muxes[0]._proc is not None and muxes[0]._proc.returncode is not None


async def test_chunks_go_out_in_sequence_order_with_a_bounded_window(tmp_path: Path,
                                                                     monkeypatch) -> None:
    from tests.fakes.space_audio import build_chunk

    monkeypatch.setattr(pipe_mux, "WINDOW", 4)
    mux = PipeMux(tmp_path / "out.m4a", fmt="m4a", tags={"title": "t"})
    mux.start()
    seqs = list(range(12))
    mux.plan(seqs)
    for seq in reversed(seqs):  # the worst order: nothing can go until the very last
        path = tmp_path / f"seg{seq:06d}.aac"
        data = build_chunk(seq)
        path.write_bytes(data)
        mux.arrived(seq, path, data)
        assert mux._in_memory <= 4
        await asyncio.sleep(0)
    out = await mux.finish({seq: tmp_path / f"seg{seq:06d}.aac" for seq in seqs})
    assert mux.fed == seqs
    assert measure_tones(out) == [tone_hz(s) for s in seqs]
    assert not (tmp_path / "out.m4a.part").exists()


async def test_a_chunk_before_audio_already_sent_breaks_the_stream(tmp_path: Path) -> None:
    from tests.fakes.space_audio import build_chunk

    mux = PipeMux(tmp_path / "out.m4a", fmt="m4a", tags={})
    mux.start()
    mux.plan([5, 6])
    for seq in (5, 6):
        path = tmp_path / f"seg{seq:06d}.aac"
        path.write_bytes(build_chunk(seq))
        mux.arrived(seq, path, None)
    for _ in range(50):
        if mux.fed == [5, 6]:
            break
        await asyncio.sleep(0.02)
    late = tmp_path / "seg000004.aac"
    late.write_bytes(build_chunk(4))
    with pytest.raises(StreamBroken):
        await mux.finish({4: late, 5: tmp_path / "seg000005.aac", 6: tmp_path / "seg000006.aac"})
    assert not (tmp_path / "out.m4a").exists() and not (tmp_path / "out.m4a.part").exists()


def test_a_stopped_sweep_keeps_no_chunk_after_a_hole(tmp_path: Path) -> None:
    recorder = Recorder(None, tmp_path, workers=1, on_bytes=lambda n: None,
                        on_chunks=lambda done, total: None)
    have = recorder.recording.chunks
    for seq in (0, 1, 3, 4):
        have[seq] = (tmp_path / f"{seq}", 3.0)
    recorder._keep_unbroken([0, 1, 2, 3, 4])
    assert sorted(have) == [0, 1]


async def test_audio_goes_to_ffmpeg_in_batches_and_all_of_it_at_the_end(tmp_path: Path,
                                                                        monkeypatch) -> None:
    """One pipe write per ~FEED_BYTES, not per chunk; what is left is written at finish."""
    from tests.fakes.space_audio import build_chunk

    chunks = {seq: build_chunk(seq) for seq in range(10)}
    monkeypatch.setattr(pipe_mux, "FEED_BYTES", 3 * max(len(c) for c in chunks.values()))
    mux = PipeMux(tmp_path / "out.m4a", fmt="m4a", tags={})
    mux.start()
    mux.plan(list(chunks))
    await _spawned(mux)
    writes: list[int] = []
    stdin = mux._proc.stdin
    write = stdin.write
    monkeypatch.setattr(stdin, "write", lambda data: (writes.append(len(data)), write(data))[1])
    for seq, data in chunks.items():
        path = tmp_path / f"seg{seq:06d}.aac"
        path.write_bytes(data)
        mux.arrived(seq, path, data)
        await asyncio.sleep(0)
    out = await mux.finish({seq: tmp_path / f"seg{seq:06d}.aac" for seq in chunks})
    assert 2 <= len(writes) <= 5
    assert measure_tones(out) == [tone_hz(s) for s in chunks]
