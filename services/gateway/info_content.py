"""Guide content for citizens, in Indonesian and English (plain data: edit here, no code changes)."""

from __future__ import annotations

TOPICS: dict[str, dict[str, dict[str, object]]] = {
    "requirements": {
        "id": {
            "title": "Persyaratan permohonan paspor",
            "items": [
                "KTP elektronik (e-KTP) yang masih berlaku.",
                "Kartu Keluarga (KK): semua pemohon dalam satu pendaftaran harus tercantum di KK yang sama.",
                "Salah satu: akta kelahiran, akta perkawinan/buku nikah, ijazah, atau surat baptis.",
                "Paspor lama, bila mengganti (habis masa berlaku, hilang atau rusak); surat kehilangan dari kepolisian bila hilang.",
                "Anak di bawah 17 tahun: KTP dan paspor kedua orang tua, serta kehadiran orang tua.",
            ],
        },
        "en": {
            "title": "What you need to apply for a passport",
            "items": [
                "A valid electronic identity card (e-KTP).",
                "Your family card (KK): every applicant in one booking must be on the same KK.",
                "One of: birth certificate, marriage certificate, school diploma, or baptism certificate.",
                "Your old passport when replacing one (expired, lost or damaged); a police report if it was lost.",
                "Children under 17: both parents' KTP and passports, and a parent must come along.",
            ],
        },
    },
    "fees": {
        "id": {
            "title": "Biaya (PP No. 28 Tahun 2019)",
            "items": [
                "Paspor biasa 48 halaman: Rp350.000.",
                "Paspor elektronik 48 halaman: Rp650.000.",
                "Layanan percepatan (selesai hari yang sama): tambahan Rp1.000.000.",
                "Penggantian paspor hilang: Rp1.000.000; rusak: Rp500.000 (di luar biaya paspor).",
                "Bayar di bank, kantor pos atau platform yang ditunjuk setelah wawancara; simpan bukti bayar.",
            ],
        },
        "en": {
            "title": "Fees (Government Regulation 28/2019)",
            "items": [
                "Regular passport, 48 pages: Rp350,000.",
                "Electronic passport, 48 pages: Rp650,000.",
                "Express service (same day): Rp1,000,000 extra.",
                "Replacing a lost passport: Rp1,000,000; a damaged one: Rp500,000 (on top of the passport fee).",
                "Pay at a bank, post office or the appointed platforms after the interview; keep the receipt.",
            ],
        },
    },
    "what-to-bring": {
        "id": {
            "title": "Yang dibawa pada hari kedatangan",
            "items": [
                "Tiket antrian (kode QR) di ponsel atau dicetak.",
                "Dokumen asli persyaratan dan fotokopinya di kertas A4.",
                "Datang paling lambat 30 menit sebelum sesi dimulai; semua pemohon hadir sendiri.",
                "Berpakaian rapi (untuk foto); tidak memakai kemeja putih atau lensa kontak berwarna.",
            ],
        },
        "en": {
            "title": "What to bring on the day",
            "items": [
                "Your queue ticket (QR code), on your phone or printed.",
                "The original documents and copies on A4 paper.",
                "Arrive at least 30 minutes before your session starts; every applicant comes in person.",
                "Dress neatly (for the photo); no white shirt, no coloured contact lenses.",
            ],
        },
    },
    "queue": {
        "id": {
            "title": "Cara kerja antrian",
            "items": [
                "Kuota dibuka sesuai jadwal (jendela bergulir hari ke depan) untuk sesi pagi dan siang.",
                "Satu pendaftaran mencakup 1-5 pemohon dalam satu KK; nomor antrian diberikan saat dikonfirmasi.",
                "Satu akun: paling banyak 5 pendaftaran, jarak minimal 30 hari; pembatalan tetap dihitung.",
                "Satu akun untuk satu perangkat; akun hanya boleh punya satu pendaftaran yang akan datang.",
                "Petugas memindai kode QR saat kedatangan; yang tidak datang dicatat tidak hadir.",
            ],
        },
        "en": {
            "title": "How the queue works",
            "items": [
                "Quota opens on a schedule (a rolling window of days ahead) for the morning and afternoon sessions.",
                "One booking covers 1-5 applicants of one KK; the queue number comes with the confirmation.",
                "One account: at most 5 registrations, at least 30 days apart; a cancelled one still counts.",
                "One account per device; an account holds at most one upcoming booking.",
                "Staff scan the QR code at check-in; a booking never checked in is recorded as a no-show.",
            ],
        },
    },
}
