"""The spoken conversation: turn-taking, replies and barge-in, shared by every transport."""

from .audio_output import AudioOutput, PacedAudioOutput
from .engine import RoomConversation
from .events import (UserInput, UserPreflight, UserStartedSpeaking, UserStoppedSpeaking, UserTranscript,
                     UserTurnEnded)
from .options import ConversationOptions
from .reply import ReplyOptions

__all__ = ["AudioOutput", "ConversationOptions", "PacedAudioOutput", "ReplyOptions", "RoomConversation",
           "UserInput", "UserPreflight", "UserStartedSpeaking", "UserStoppedSpeaking", "UserTranscript",
           "UserTurnEnded"]
