"""The spoken conversation: turn-taking, replies and barge-in, shared by every transport."""

from .audio_output import AudioOutput, PacedAudioOutput
from .engine import ConversationOptions, RoomConversation
from .events import (UserInput, UserPreflight, UserStartedSpeaking, UserStoppedSpeaking, UserTranscript,
                     UserTurnEnded)
from .reply import ReplyOptions

__all__ = ["AudioOutput", "ConversationOptions", "PacedAudioOutput", "ReplyOptions", "RoomConversation",
           "UserInput", "UserPreflight", "UserStartedSpeaking", "UserStoppedSpeaking", "UserTranscript",
           "UserTurnEnded"]
