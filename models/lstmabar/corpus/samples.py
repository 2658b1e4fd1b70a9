"""Named real samples: Debian's ``sonic-pi-samples`` (CC0, from freesound.org; attributions in the
package's README.md, which the corpus manifest points to).

Each sample's name says what it is ("drum_snare_hard", "ambi_choir", "bass_hit_c"); ``SAMPLE_WORDS``
spells the names out for captions. Words the names use that are measured descriptors elsewhere
("ambi_dark_woosh") are left out, so a caption never calls a sound dark because of its file name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLES_DIR = Path("/usr/share/sonic-pi/samples")

def _numbered(stem: str, first: int, last: int, words: str) -> dict[str, str]:
    """Samples ``stem<first>`` .. ``stem<last>`` that share their caption words."""
    return {f"{stem}{i}": words for i in range(first, last + 1)}


SAMPLE_WORDS: dict[str, str] = {
    "ambi_choir": "ambient choir", "ambi_dark_woosh": "ambient woosh", "ambi_drone": "ambient drone",
    "ambi_glass_hum": "glass hum", "ambi_glass_rub": "rubbed glass", "ambi_haunted_hum": "haunted hum",
    "ambi_lunar_land": "lunar landing ambience", "ambi_piano": "ambient piano", "ambi_sauna": "sauna ambience",
    "ambi_soft_buzz": "ambient buzz", "ambi_swoosh": "swoosh",
    "bass_dnb_f": "drum and bass bass note", "bass_drop_c": "bass drop", "bass_hard_c": "hard synth bass note",
    "bass_hit_c": "bass hit", "bass_thick_c": "thick synth bass note", "bass_trance_c": "trance bass note",
    "bass_voxy_c": "vocal bass note", "bass_voxy_hit_c": "vocal bass hit", "bass_woodsy_c": "woodsy bass note",
    "bd_808": "808 kick drum", "bd_ada": "kick drum", "bd_boom": "booming kick drum", "bd_fat": "fat kick drum",
    "bd_gas": "gassy kick drum", "bd_haus": "house kick drum", "bd_klub": "club kick drum", "bd_mehackit": "kick drum",
    "bd_pure": "pure kick drum", "bd_sone": "kick drum", "bd_tek": "techno kick drum", "bd_zome": "kick drum",
    "bd_zum": "kick drum",
    "drum_bass_hard": "bass drum hit hard", "drum_bass_soft": "bass drum hit softly", "drum_cowbell": "cowbell",
    "drum_cymbal_closed": "closed cymbal", "drum_cymbal_hard": "cymbal hit hard", "drum_cymbal_open": "open cymbal",
    "drum_cymbal_pedal": "pedal cymbal", "drum_cymbal_soft": "cymbal hit softly", "drum_heavy_kick": "heavy kick drum",
    "drum_roll": "drum roll", "drum_snare_hard": "snare drum hit hard", "drum_snare_soft": "snare drum hit softly",
    "drum_splash_hard": "splash cymbal hit hard", "drum_splash_soft": "splash cymbal hit softly",
    "drum_tom_hi_hard": "high tom hit hard", "drum_tom_hi_soft": "high tom hit softly",
    "drum_tom_lo_hard": "low tom hit hard", "drum_tom_lo_soft": "low tom hit softly",
    "drum_tom_mid_hard": "mid tom hit hard", "drum_tom_mid_soft": "mid tom hit softly",
    "elec_beep": "electronic beep", "elec_bell": "electronic bell", "elec_blip": "electronic blip",
    "elec_blip2": "electronic blip", "elec_blup": "electronic blup", "elec_bong": "electronic bong",
    "elec_chime": "electronic chime", "elec_cymbal": "electronic cymbal", "elec_filt_snare": "filtered electronic snare",
    "elec_flip": "electronic flip", "elec_fuzz_tom": "fuzz tom", "elec_hi_snare": "high electronic snare",
    "elec_hollow_kick": "hollow electronic kick", "elec_lo_snare": "low electronic snare",
    "elec_mid_snare": "mid electronic snare", "elec_ping": "electronic ping", "elec_plip": "electronic plip",
    "elec_pop": "electronic pop", "elec_snare": "electronic snare", "elec_soft_kick": "soft electronic kick",
    "elec_tick": "electronic tick", "elec_triangle": "electronic triangle", "elec_twang": "electronic twang",
    "elec_twip": "electronic twip", "elec_wood": "electronic wood block",
    "glitch_bass_g": "glitch bass", **_numbered("glitch_perc", 1, 5, "glitch percussion"),
    **_numbered("glitch_robot", 1, 2, "glitchy robot voice"),
    "guit_e_fifths": "electric guitar fifths", "guit_e_slide": "electric guitar slide",
    "guit_em9": "guitar E minor ninth chord", "guit_harmonics": "guitar harmonics",
    "loop_3d_printer": "3D printer loop", "loop_amen": "amen break", "loop_amen_full": "amen break",
    "loop_breakbeat": "breakbeat", "loop_compus": "drum loop", "loop_drone_g_97": "drone loop",
    "loop_electric": "electric loop", "loop_garzul": "electronic loop", "loop_industrial": "industrial loop",
    **_numbered("loop_mehackit", 1, 2, "drum loop"), "loop_mika": "electronic loop",
    "loop_perc1": "percussion loop", "loop_perc2": "percussion loop", "loop_safari": "safari percussion loop",
    "loop_tabla": "tabla loop", "loop_weirdo": "weird loop",
    **_numbered("mehackit_phone", 1, 4, "phone sound"), **_numbered("mehackit_robot", 1, 7, "robot sound"),
    "misc_burp": "burp", "misc_cineboom": "cinematic boom", "misc_crow": "crow call",
    "perc_bell": "bell", "perc_bell2": "bell", "perc_door": "door knock", **_numbered("perc_impact", 1, 2, "impact"),
    "perc_snap": "finger snap", "perc_snap2": "finger snap", "perc_swash": "swash",
    "perc_swoosh": "swoosh", "perc_till": "cash register",
    "sn_dolf": "snare drum", "sn_dub": "dub snare", "sn_generic": "snare drum", "sn_zome": "snare drum",
    **_numbered("tabla_ghe", 1, 8, "low tabla stroke"),
    **dict.fromkeys(("tabla_dhec", "tabla_na", "tabla_na_o", "tabla_na_s", "tabla_re", "tabla_te_m", "tabla_te_ne"), "tabla stroke"),
    **_numbered("tabla_ke", 1, 3, "tabla stroke"), **_numbered("tabla_tas", 1, 3, "tabla stroke"),
    **_numbered("tabla_te", 1, 2, "tabla stroke"), **_numbered("tabla_tun", 1, 3, "tabla stroke"),
    "vinyl_backspin": "vinyl backspin", "vinyl_hiss": "vinyl hiss", "vinyl_rewind": "vinyl rewind",
    "vinyl_scratch": "vinyl scratch",
}


def describe_sample(name: str) -> str:
    """The caption words for a sample name (names the table lacks: the name's parts, less its digits)."""
    if name in SAMPLE_WORDS:
        return SAMPLE_WORDS[name]
    return " ".join(p for p in name.replace("-", "_").split("_") if p and not p.isdigit()) or name


def list_samples(directory: Path = SAMPLES_DIR) -> list[str]:
    return sorted(p.stem for p in Path(directory).glob("*.flac"))


def load_sample(name: str, sample_rate: int, directory: Path = SAMPLES_DIR) -> np.ndarray:
    """Mono float32 at ``sample_rate`` (the package's files are 44.1 kHz; others are resampled)."""
    import soundfile as sf

    x, sr = sf.read(str(Path(directory) / f"{name}.flac"), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != sample_rate:
        import librosa

        x = librosa.resample(x, orig_sr=sr, target_sr=sample_rate).astype(np.float32)
    return x
