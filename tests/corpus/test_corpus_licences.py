import pytest

from pycodesmall.training.corpus.licences import (PERMISSIVE, REJECTED, UNKNOWN, classify,
                                                   metadata_licence)


@pytest.mark.parametrize("licence, verdict", [
    ("MIT", PERMISSIVE),
    ("BSD-3-Clause", PERMISSIVE),
    ("Apache-2.0 OR GPL-2.0-only", PERMISSIVE),
    ("PSF-2.0", PERMISSIVE),
    ("Apache Software License", PERMISSIVE),
    ("The Unlicense (Unlicense)", PERMISSIVE),
    ("Permission is hereby granted, free of charge, to any person obtaining a copy", PERMISSIVE),
    ("MPL-2.0 AND MIT", REJECTED),
    ("GNU Lesser General Public License v3 (LGPLv3)", REJECTED),
    ("GPL-3.0-or-later", REJECTED),
    ("Other/Proprietary License", REJECTED),
    ("", UNKNOWN),
    ("see LICENSE file; permitted for any use", UNKNOWN),
])
def test_classify(licence, verdict):
    assert classify(licence) == verdict


def test_metadata_prefers_expression_then_rejecting_classifier():
    assert metadata_licence("License-Expression: BSD-3-Clause\nLicense: GPL\n") == "BSD-3-Clause"
    pkg_info = ("Metadata-Version: 2.1\nName: x\nLicense: BSD\n"
                "Classifier: License :: OSI Approved :: GNU General Public License (GPL)\n")
    assert classify(metadata_licence(pkg_info)) == REJECTED


def test_metadata_falls_back_to_licence_file():
    pkg_info = "Metadata-Version: 2.1\nName: x\nLicense: UNKNOWN\n"
    licence_file = "MIT License\n\nCopyright (c) 2020 Someone\n\nPermission is hereby granted..."
    assert classify(metadata_licence(pkg_info, licence_file)) == PERMISSIVE
    assert classify(metadata_licence(pkg_info)) == UNKNOWN
