"""The Page audio job: find the tracks, fetch them in parallel, write a ZIP or a folder."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from audiofetch_app.core import ffmpeg, net, registry
from audiofetch_app.core.job_context import JobContext, JobError, user_message
from audiofetch_app.core.naming import render_template, safe_filename, unique_path
from audiofetch_app.core.registry import Link
from audiofetch_app.core.urls import check_url, is_web_url, title_from_url
from audiofetch_app.sources.page.archive import DownloadArchive
from audiofetch_app.sources.page.downloader import fetch_track, planned_extension
from audiofetch_app.sources.page.finder import find_with_seen, partly_read, preview
from audiofetch_app.sources.page.options import MAX_WORKERS, PageOptions, track_dicts
from audiofetch_app.sources.page.tracks import Track

if TYPE_CHECKING:
    from audiofetch_app.core.zipstream import ZipMember

KIND = "page"
DEFAULT_TEMPLATE = "{n:02d} - {title}.{ext}"
STREAM_RESUMES = 5  # a streamed track may be cut and continued this many times


def track_names(tracks: list[Track], template: str, album: str) -> list[str]:
    """`NN - Title.ext` for each track, unique and safe. NN is the track's place on the page
    (`Track.position`), so the tracks two runs chose from one page never share a number;
    tracks without one (jobs of older versions) are numbered in the order given."""
    numbers = [track.position or n for n, track in enumerate(tracks, start=1)]
    width = max(2, len(str(max(numbers, default=0))))
    template = template.replace("{n:02d}", f"{{n:0{width}d}}")
    names: list[str] = []
    seen: set[str] = set()
    for number, track in zip(numbers, tracks, strict=True):
        title = track.title or title_from_url(track.url)
        name = render_template(template, {"n": number, "title": title, "album": album},
                               ext=planned_extension(track)).replace("/", "_")
        stem, dot, ext = name.rpartition(".")
        candidate, k = name, 2
        while candidate.lower() in seen:
            candidate = f"{stem} ({k}){dot}{ext}"
            k += 1
        seen.add(candidate.lower())
        names.append(candidate)
    return names


class PageRun:
    """One run of a page job; per-track state lives in job.detail for the UI."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.options = opts = PageOptions.from_dict(ctx.options, strict=False)
        self.workers = max(1, min(MAX_WORKERS, opts.workers or ctx.settings.page_workers or 5))
        self.as_zip = ctx.settings.page_zip if opts.zip is None else opts.zip
        self.tagging = opts.tags is not False
        self.byte_counts: dict[int, int] = {}
        self.byte_totals: dict[int, int] = {}  # sizes the servers told, by track
        self.failed: list[dict[str, Any]] = []

    def _track_state(self, index: int, **changes: Any) -> None:
        self.ctx.job.detail["tracks"][index].update(changes)

    def _failed(self, index: int, name: str, url: str, exc: BaseException) -> None:
        """Note a track that could not be saved; the job goes on with the others."""
        message = user_message(exc)
        self._track_state(index, state="failed", error=message)
        self.failed.append({"name": name, "url": url, "error": message})
        self.ctx.log.warning("Track failed: %s: %s", name, message)

    def _finished(self, index: int) -> None:
        self._track_state(index, state="done")
        self.ctx.progress(items_done=self.ctx.job.items_done + 1, force=True)

    def _bytes(self, index: int, done: int, total: int | None) -> None:
        self.byte_counts[index] = done
        if total:
            self.byte_totals[index] = total
        self._track_state(index, done=done, total=total)
        # The whole job's size: the sizes told so far, and their average for each track not
        # started yet (so a page job's bar moves with its bytes, not only per whole track).
        known = self.byte_totals
        tracks = len(self.ctx.job.detail.get("tracks") or ()) or len(known)
        estimate = sum(known.values()) * max(tracks, len(known)) // len(known) if known else None
        self.ctx.progress(bytes_done=sum(self.byte_counts.values()), bytes_total=estimate)

    async def _tracks(self, client: httpx.AsyncClient) -> tuple[list[Track], str]:
        """The tracks to save and the page's title: those the user chose in the preview, or
        those found by the first run of this job (remembered, so a resume saves the same
        list), or else found now."""
        ctx, opts = self.ctx, self.options
        chosen = opts.chosen_tracks()
        if chosen:
            return chosen, ctx.job.title
        remembered = ctx.job.detail.get("page_tracks")
        if remembered:
            tracks = PageOptions(tracks=remembered).chosen_tracks() or []
            return tracks, ctx.job.detail.get("page_title") or ctx.job.title
        found = await find_with_seen(client, ctx.job.url, opts.plugin, opts.seen, opts.name)
        tracks = found.tracks
        if opts.selected:  # a job stored by AudioFetch 0.1: ticks matched by URL
            wanted = set(opts.selected)
            tracks = [t for t in tracks if t.url in wanted]
            if not tracks:
                raise JobError("None of the chosen tracks are on the page any more.")
        ctx.remember(page_tracks=track_dicts(tracks), page_title=found.title)
        if found.truncated:  # said once more when the job ends (faces show `notice`)
            ctx.remember(notice=partly_read(found))
        return tracks, found.title

    async def run(self) -> None:
        ctx, opts = self.ctx, self.options
        cookies = net.load_cookies_txt(opts.cookies_file) if opts.cookies_file else None
        async with net.make_client(referer=ctx.job.url, cookies=cookies,
                                   max_connections=self.workers * 2) as client:
            tracks, page_title = await self._tracks(client)
            album = opts.name or page_title or ctx.job.title or "audio"
            if not ctx.job.title:
                ctx.set_title(album)
            template = ctx.settings.page_template or DEFAULT_TEMPLATE
            names = track_names(tracks, template, album)
            ctx.job.detail["tracks"] = [
                {"n": n, "title": t.title or title_from_url(t.url), "url": t.url,
                 "family": t.family, "name": name, "state": "queued", "done": 0, "total": None}
                for n, (t, name) in enumerate(zip(tracks, names, strict=True), start=1)]
            ctx.progress(items_done=0, items_total=len(tracks), force=True)
            self.client, self.album = client, album
            if opts.stream:
                from audiofetch_app.core.zipstream import zip_chunks  # stream-zip: 50 ms

                await ctx.deliver(zip_chunks(self._streamed(tracks, names)))
            elif self.as_zip:
                await self._to_zip(tracks, names, safe_filename(album, "audio"))
            else:
                await self._to_folder(tracks, names, safe_filename(album, "audio"))
        ctx.progress(bytes_total=sum(self.byte_counts.values()))  # the estimate, now exact
        if self.failed:
            ctx.remember(failed=self.failed)
            first = self.failed[0]
            # A resume fetches only the tracks that failed: worth offering whatever broke.
            raise JobError(f"{len(self.failed)} of {len(tracks)} tracks failed; "
                           f"{first['name']}: {first['error']}", retryable=True)

    async def _one(self, index: int, track: Track, dest: Path) -> Path | None:
        self._track_state(index, state="running")
        try:
            path = await fetch_track(self.client, track, dest, workers=4,
                                     on_bytes=lambda d, t: self._bytes(index, d, t))
            if self.tagging:
                meta = {"title": track.title or title_from_url(track.url),
                        "album": self.album, "track": str(index + 1)}
                try:
                    await ffmpeg.retag(path, meta)
                except ffmpeg.FFmpegError as exc:  # tags are a nicety; the audio is saved
                    self.ctx.log.info("Could not tag %s: %s", path.name, exc)
        except (net.NetError, ffmpeg.FFmpegError, JobError, OSError, ValueError) as exc:
            self._failed(index, dest.name, track.url, exc)
            return None
        self._finished(index)
        return path

    async def _run_all(self, jobs: list[tuple[int, Track, Path]], on_done) -> None:
        semaphore = asyncio.Semaphore(self.workers)

        async def worker(index: int, track: Track, dest: Path) -> None:
            async with semaphore:
                path = await self._one(index, track, dest)
            if path is not None:
                await on_done(index, track, path)

        await asyncio.gather(*(worker(*job) for job in jobs))

    async def _streamed(self, tracks: list[Track], names: list[str]
                        ) -> AsyncIterator[ZipMember]:
        """Members read straight from the network into the caller's ZIP: nothing on disk."""
        from audiofetch_app.core import zipstream

        for index, (track, name) in enumerate(zip(tracks, names, strict=True)):
            self._track_state(index, state="running")
            try:
                response = await self.client.send(
                    self.client.build_request("GET", track.url), stream=True)
                if response.status_code >= 400 or response.headers.get(
                        "content-type", "").startswith("text/html"):
                    await response.aclose()
                    if response.status_code >= 400:
                        raise net.HTTPStatusError(response.status_code, track.url)
                    raise net.NotAudioError(f"Expected audio from {track.url} but the server "
                                            "sent a web page.")
            except (net.NetError, httpx.HTTPError) as exc:
                self._failed(index, name, track.url, exc)
                continue

            async def body(response=response, index=index, url=track.url
                           ) -> AsyncIterator[bytes]:
                done, cuts = 0, 0
                while True:
                    try:
                        async for block in response.aiter_bytes(256 * 1024):
                            done += len(block)
                            self._bytes(index, done, None)
                            yield block
                        return
                    except httpx.TransportError:
                        # Cut mid-track: go on from the next byte, or the archive breaks.
                        cuts += 1
                        if cuts > STREAM_RESUMES:
                            raise
                    finally:
                        await response.aclose()
                    await asyncio.sleep(net.DEFAULT_POLICY.backoff(cuts))
                    response = await self._resume(url, done)

            yield zipstream.ZipMember(name, body)
            self._finished(index)

    async def _resume(self, url: str, offset: int) -> httpx.Response:
        request = self.client.build_request("GET", url, headers={"Range": f"bytes={offset}-"})
        response = await self.client.send(request, stream=True)
        if response.status_code != 206 or not response.headers.get(
                "content-range", "").startswith(f"bytes {offset}-"):
            await response.aclose()
            raise net.NetError(f"The download of {url} broke off and the server cannot "
                               "continue it.")
        return response

    async def _to_folder(self, tracks: list[Track], names: list[str], folder_name: str) -> None:
        folder = self.ctx.output_dir / folder_name
        folder.mkdir(parents=True, exist_ok=True)
        self.ctx.set_output(folder)
        archive = DownloadArchive(folder)
        jobs = []
        for index, (track, name) in enumerate(zip(tracks, names, strict=True)):
            if track.url in archive:
                self._track_state(index, state="skipped")
                self.ctx.progress(items_done=self.ctx.job.items_done + 1)
                continue
            dest = folder / name
            self.ctx.track_partial(dest.with_name(dest.name + ".part"))
            jobs.append((index, track, dest))

        async def done(index: int, track: Track, path: Path) -> None:
            archive.add(track.url, path.name)
            self.ctx.add_file(path)

        if len(jobs) < len(tracks):  # said beside "Saved", so a run that saved nothing says so
            skipped = len(tracks) - len(jobs)
            said = (f"All {skipped} tracks were already in the folder; nothing new was saved."
                    if not jobs else f"{skipped} of the {len(tracks)} tracks were already in "
                    "the folder and were skipped.")
            notice = self.ctx.job.detail.get("notice")
            self.ctx.remember(notice=f"{notice} {said}" if notice else said)
        await self._run_all(jobs, done)

    async def _to_zip(self, tracks: list[Track], names: list[str], zip_name: str) -> None:
        from audiofetch_app.core.zipstream import ZipMember, write_zip

        dest = self.ctx.job.output_path and Path(self.ctx.job.output_path)
        if not dest or dest.suffix != ".zip":
            dest = unique_path(self.ctx.output_dir / f"{zip_name}.zip")
        self.ctx.set_output(dest)
        temp = self.ctx.track_partial(dest.with_name(f".{dest.name}.tracks"))
        self.ctx.track_partial(dest.with_name(dest.name + ".part"))
        temp.mkdir(parents=True, exist_ok=True)
        finished: asyncio.Queue[tuple[Path, str] | BaseException | None] = asyncio.Queue()

        async def members() -> AsyncIterator[ZipMember]:
            previous: Path | None = None
            while (item := await finished.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                if previous is not None:
                    previous.unlink(missing_ok=True)  # fully written into the archive
                path, name = item
                previous = path
                yield await ZipMember.from_file(path, name)
            if previous is not None:
                previous.unlink(missing_ok=True)

        async def done(index: int, track: Track, path: Path) -> None:
            await finished.put((path, path.name))

        writer = asyncio.create_task(write_zip(members(), dest))
        try:
            jobs = [(i, t, temp / n) for i, (t, n) in enumerate(zip(tracks, names, strict=True))]
            await self._run_all(jobs, done)
            if len(self.failed) == len(tracks):
                raise JobError(f"None of the {len(tracks)} tracks could be downloaded; "
                               f"{self.failed[0]['name']}: {self.failed[0]['error']}")
        except BaseException:
            # End the member stream first: the ZIP writer waits on it from a worker thread,
            # and cancelling it while it waits would never return.
            finished.put_nowait(JobError("The download stopped."))
            with contextlib.suppress(asyncio.CancelledError, Exception):
                async with asyncio.timeout(30):
                    await writer
            raise
        await finished.put(None)
        await writer
        shutil.rmtree(temp, ignore_errors=True)
        self.ctx.untrack_partial(temp)
        self.ctx.add_file(dest)


async def run(ctx: JobContext) -> None:
    await PageRun(ctx).run()


def link(url: str) -> Link:
    """Any http(s) page; its canonical form is the URL itself, trimmed."""
    url = check_url(url)
    return Link(KIND, url, url)


registry.register(registry.Source(
    KIND, "Page audio", run, matches=is_web_url, link=link, priority=-10,
    options=PageOptions, preview=preview))
