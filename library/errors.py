"""Errors a tool turns into an ``isError`` result whose text tells the assistant what to do."""


class ToolError(Exception):
    """A problem with the request that the caller can fix; the message says how."""


class AudioInputError(ToolError):
    """The audio given to a tool could not be used."""


class UnknownSoundError(ToolError):
    def __init__(self, sound_id: str) -> None:
        super().__init__(
            f"No sound with id {sound_id!r} in the library. Call list_sounds to see the ids that exist."
        )
        self.sound_id = sound_id


class ToolCancelled(Exception):
    """Raised inside a worker when the client cancelled the request."""
